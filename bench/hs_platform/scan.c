/* Main Hyperscan database scan time, compiled for this CPU or for a generic platform
 * (docs/detection.md, "A CPU-tuned build does not help either").
 *
 *   apt-get install libhyperscan-dev          # Debian's fat-runtime Hyperscan 5.4.0
 *   .venv/bin/python bench/hs_platform/dump.py /tmp/hs   # expressions and the 1.5 MB samples
 *   gcc -O2 -o /tmp/hs/scan bench/hs_platform/scan.c -lhs
 *   /tmp/hs/scan /tmp/hs chat host; /tmp/hs/scan /tmp/hs chat generic   # also: code
 *
 * Prints the database's features and size, the events and the best CPU time of 15 passes
 * (hs_scan per document, a callback that only counts). Not run by the tests: it needs a
 * system library the project does not otherwise use. */
#include <hs/hs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
static unsigned char *slurp(const char *p, size_t *n) { FILE *f = fopen(p, "rb"); fseek(f, 0, SEEK_END); *n = ftell(f); fseek(f, 0, SEEK_SET); unsigned char *b = malloc(*n); fread(b, 1, *n, f); fclose(f); return b; }
static int on(unsigned id, unsigned long long from, unsigned long long to, unsigned fl, void *ctx) { (*(long *)ctx)++; return 0; }
int main(int argc, char **argv) {
    size_t n; char path[4096]; snprintf(path, sizeof path, "%s/expr.bin", argv[1]);
    unsigned char *e = slurp(path, &n); unsigned cnt = *(unsigned *)e; size_t off = 4;
    char **ex = malloc(cnt * sizeof *ex); unsigned *ids = malloc(cnt * 4), *fl = malloc(cnt * 4);
    for (unsigned i = 0; i < cnt; i++) { unsigned len = *(unsigned *)(e + off), id = *(unsigned *)(e + off + 4), f = *(unsigned *)(e + off + 8); off += 12;
        ex[i] = malloc(len + 1); memcpy(ex[i], e + off, len); ex[i][len] = 0; off += len; ids[i] = id; fl[i] = f; }
    hs_platform_info_t plat; hs_populate_platform(&plat);
    if (argc < 4) { fprintf(stderr, "usage: scan DIR chat|code host|generic\n"); return 2; }
    int generic = !strcmp(argv[3], "generic");
    if (generic) { plat.cpu_features = 0; plat.tune = HS_TUNE_FAMILY_GENERIC; }
    hs_database_t *db; hs_compile_error_t *err;
    if (hs_compile_multi((const char *const *)ex, fl, ids, cnt, HS_MODE_BLOCK, &plat, &db, &err) != HS_SUCCESS) { fprintf(stderr, "compile: %s (expr %d)\n", err->message, err->expression); return 1; }
    char *info; hs_database_info(db, &info); size_t sz; hs_database_size(db, &sz);
    hs_scratch_t *s = NULL; hs_alloc_scratch(db, &s);
    size_t cn; snprintf(path, sizeof path, "%s/%s.bin", argv[1], argv[2]); unsigned char *c = slurp(path, &cn); unsigned nd = *(unsigned *)c;
    double best = 1e9; long events = 0;
    for (int r = 0; r < 15; r++) {
        struct timespec a, b; clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a); size_t o = 4; events = 0;
        for (unsigned d = 0; d < nd; d++) { unsigned len = *(unsigned *)(c + o); o += 4; hs_scan(db, (const char *)c + o, len, 0, s, on, &events); o += len; }
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b); double t = (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6; if (t < best) best = t; }
    printf("%s %s: %s, %zu bytes db, %ld events, best %.2f ms per pass\n", argv[2], generic ? "generic" : "host", info, sz, events, best);
    return 0;
}
