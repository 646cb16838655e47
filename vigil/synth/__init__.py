"""Synthetic content for the simulator, the tests and the benchmarks: valid-looking sensitive
values (``values``) and documents of every supported format with text at known locators
(``documents``)."""
