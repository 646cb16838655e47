"""An evaluation corpus for detectors that shares no code with vigil's rules or ``vigil.synth``.

Modules: ``values`` (one generator per Google Cloud DLP infoType, from Faker, python-stdnum and
libphonenumber), ``negatives`` (hard negatives), ``vocabulary`` (how people name each infoType),
``layouts`` (document kinds), ``corpus`` (the labelled set and value-free documents),
``presidio_set`` (presidio-evaluator's sentence templates filled with these values) and
``scoring`` (strict span scoring). Nothing here imports ``vigil``; a test enforces it.
"""
