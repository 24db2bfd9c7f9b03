/* test-neon.c — the AArch64 NEON body of af__gemm_acc (gemm_neon.c) against
 * a scalar reference, bit for bit. Stand-alone C11 (no glib):
 * tests/kernels/run-neon.sh cross-compiles it with gemm_neon.c and runs it
 * under qemu-aarch64.
 *
 * Every case ends A's panel and the read part of B's last row right before a
 * PROT_NONE page (a read past them faults), surrounds C with canaries (a
 * write outside rows < mr, columns < 8 | 16 shows) and compares C's whole
 * buffer by bits. */
#define _DEFAULT_SOURCE /* mmap's MAP_ANONYMOUS under -std=c11 */
#include "gemm_neon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#if !defined(__aarch64__)
#error "test-neon.c tests the AArch64 kernel: build and run it with run-neon.sh"
#endif

#define MR 6
#define NR 16
#define CANARY 0x7fa5c0deu /* a signalling NaN: no result can have these bits */
/* The only NaN the inputs hold. Which operand's NaN an FMA or a mul + add
 * passes on differs (and C fixes no order for the portable body), but
 * AArch64's default NaN (inf - inf, 0 * inf) is this value too, so every NaN
 * result has these bits whatever the order. */
#define QNAN 0x7fc00000u

enum { MODE_RANDOM, MODE_SPECIALS, MODE_ZEROS, N_MODES };
static const char *const mode_names[N_MODES] = { "random", "specials", "zeros" };

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

/* xorshift64*: the same cases on every run, without libc's rand. */
static uint32_t
rng (void)
{
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return (uint32_t) ((rng_state * 0x2545f4914f6cdd1du) >> 32);
}

static uint32_t
f2u (float f)
{
  uint32_t u;
  memcpy (&u, &f, 4);
  return u;
}

static float
u2f (uint32_t u)
{
  float f;
  memcpy (&f, &u, 4);
  return f;
}

/* fp32 -> fp16 bits, round to nearest even (@f finite, not NaN). */
static uint16_t
f32_to_f16 (float f)
{
  uint32_t u = f2u (f), sign = (u >> 16) & 0x8000u, mag = u & 0x7fffffffu;
  if (mag >= 0x477ff000u) /* >= 65520: rounds to inf */
    return (uint16_t) (sign | 0x7c00u);
  if (mag < 0x38800000u) { /* below 2^-14: a subnormal half or zero */
    if (mag < 0x33000000u) /* at most 2^-25 (a tie with 0, even): zero */
      return (uint16_t) sign;
    uint32_t man = (mag & 0x7fffffu) | 0x800000u, shift = 126 - (mag >> 23);
    uint32_t h = man >> shift, rem = man & ((1u << shift) - 1), half = 1u << (shift - 1);
    h += rem > half || (rem == half && (h & 1));
    return (uint16_t) (sign | h);
  }
  uint32_t h = (mag - 0x38000000u) >> 13, rem = mag & 0x1fffu;
  h += rem > 0x1000u || (rem == 0x1000u && (h & 1)); /* a carry into the exponent is right */
  return (uint16_t) (sign | h);
}

/* fp16 bits -> fp32, exact. */
static float
f16_to_f32 (uint16_t h)
{
  uint32_t sign = (uint32_t) (h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, man = h & 0x3ffu;
  if (e == 0x1f)
    return u2f (sign | 0x7f800000u | (man << 13));
  if (e == 0) { /* zero or subnormal: man * 2^-24, exact in fp32 */
    float v = (float) man / 16777216.0f;
    return sign ? -v : v;
  }
  return u2f (sign | ((e + 112) << 23) | (man << 13));
}

/* Known conversions both ways: the inputs really are fp16 values. */
static int
check_f16 (void)
{
  typedef struct {
    float f;
    uint16_t h;
  } Pair;
  static const Pair rounded[] = {
    { 65519.99f, 0x7bff },          { 65520.0f, 0x7c00 },           /* the tie rounds up to inf */
    { 1.0f + 1.0f / 2048, 0x3c00 }, { 1.0f + 3.0f / 2048, 0x3c02 }, /* ties to even */
    { 2.9802322e-8f, 0x0000 },      { 4.4703484e-8f, 0x0001 },      /* 2^-25 (a tie), 1.5 * 2^-25 */
  };
  static const Pair exact[] = {
    { 1.0f, 0x3c00 },          { -2.5f, 0xc100 },         { 65504.0f, 0x7bff },
    { 5.9604645e-8f, 0x0001 }, { 6.0975552e-5f, 0x03ff }, { 6.1035156e-5f, 0x0400 },
    { -0.0f, 0x8000 },
  };
  int bad = 0;
  for (size_t i = 0; i < sizeof rounded / sizeof rounded[0]; i++)
    if (f32_to_f16 (rounded[i].f) != rounded[i].h) {
      printf ("FAIL fp16: %a -> 0x%04x, want 0x%04x\n", (double) rounded[i].f,
              f32_to_f16 (rounded[i].f), rounded[i].h);
      bad = 1;
    }
  for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++)
    if (f32_to_f16 (exact[i].f) != exact[i].h ||
        f2u (f16_to_f32 (exact[i].h)) != f2u (exact[i].f)) {
      printf ("FAIL fp16: %a <-> 0x%04x\n", (double) exact[i].f, exact[i].h);
      bad = 1;
    }
  return bad;
}

/* A random fp16 value: magnitude in [2^-26, 2^4), so some are fp16
 * subnormals or round to zero, and k = 300 sums stay finite. */
static float
rand_f16 (void)
{
  float m = 1.0f + (float) (rng () & 0xffffff) / 16777216.0f;
  int e = (int) (rng () % 30) - 26;
  float v = m * u2f ((uint32_t) (127 + e) << 23);
  if (rng () & 1)
    v = -v;
  return f16_to_f32 (f32_to_f16 (v));
}

static float
rand_special (void)
{
  static const uint32_t specials[] = {
    0x00000000u, 0x80000000u,
    0x7f800000u, 0xff800000u,
    QNAN,        0x477fe000u /* 65504 */,
    0xc77fe000u, 0x33800000u /* 2^-24 */,
  };
  return u2f (specials[rng () % (sizeof specials / sizeof specials[0])]);
}

/* One input value of @mode; @n: how many values the array has (specials
 * are sprinkled about 3 per array, so not every result is NaN). */
static float
rand_value (int mode, size_t n)
{
  switch (mode) {
  case MODE_SPECIALS:
    return rng () % (n + 1) < 3 ? rand_special () : rand_f16 ();
  case MODE_ZEROS: /* mostly signed zeros: sums of -0 products, -0 + -0 */
    return rng () % 4 ? u2f ((rng () & 1) << 31) : rand_f16 ();
  default:
    return rand_f16 ();
  }
}

/* @n floats that end right before a PROT_NONE page. */
typedef struct {
  void *map;
  size_t len;
  float *p;
} Guarded;

static int
guarded_alloc (Guarded *g, size_t n)
{
  size_t page = (size_t) sysconf (_SC_PAGESIZE), bytes = n * sizeof (float);
  size_t data = (bytes + page - 1) / page * page;
  g->len = data + page;
  g->map = mmap (NULL, g->len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (g->map == MAP_FAILED || mprotect ((char *) g->map + data, page, PROT_NONE) != 0) {
    perror ("mmap");
    return -1;
  }
  g->p = (float *) ((char *) g->map + data) - n;
  return 0;
}

/* The semantics of af__gemm_acc, spelled out: mul, then add, p ascending
 * (run-neon.sh builds with -ffp-contract=off so this stays two roundings). */
static void
ref_gemm_acc (int64_t k, const float *a, const float *b, int64_t ldb, int mr, int nr, bool load,
              float *c, int64_t ldc)
{
  int nc = nr > 8 ? NR : 8;
  for (int i = 0; i < mr; i++)
    for (int j = 0; j < nc; j++) {
      float t = load ? c[i * ldc + j] : 0.0f;
      for (int64_t p = 0; p < k; p++) {
        float prod = a[p * MR + i] * b[p * ldb + j];
        t = t + prod;
      }
      c[i * ldc + j] = t;
    }
}

typedef struct {
  long cases, values, nan, inf, negzero;
} Stats;

/* Compares C's whole buffer (@n floats, the tile at @off) after the kernel
 * (@got) and the reference (@want); prints a line and returns 1 on any
 * difference. */
static int
compare (const char *what, int64_t k, int mr, int nr, bool load, int mode, int64_t ldb, int64_t ldc,
         const float *got, const float *want, size_t n, size_t off, Stats *st)
{
  int nc = nr > 8 ? NR : 8;
  long diff = 0, canary = 0;
  size_t first = 0;
  for (size_t x = 0; x < n; x++) {
    uint32_t g = f2u (got[x]), w = f2u (want[x]);
    int in_tile =
        x >= off && (x - off) / (size_t) ldc < (size_t) mr && (x - off) % ldc < (size_t) nc;
    if (!in_tile && g != CANARY)
      canary++;
    if (g != w && !diff++)
      first = x;
    if (in_tile) {
      st->values++;
      st->nan += (w & 0x7fffffffu) > 0x7f800000u;
      st->inf += (w & 0x7fffffffu) == 0x7f800000u;
      st->negzero += w == 0x80000000u;
    }
  }
  st->cases++;
  if (!diff && !canary)
    return 0;
  printf ("FAIL %s k=%ld mr=%d nr=%d load=%d %s ldb=%ld ldc=%ld: %ld values differ", what, (long) k,
          mr, nr, load, mode_names[mode], (long) ldb, (long) ldc, diff);
  if (diff) {
    long r = ((long) first - (long) off) / ldc, col = ((long) first - (long) off) % ldc;
    printf (" (first at row %ld col %ld: got 0x%08x want 0x%08x)", r, col, f2u (got[first]),
            f2u (want[first]));
  }
  printf (", %ld canaries overwritten\n", canary);
  return 1;
}

/* One case: af_neon_gemm_acc over k steps, or (@split > 0) over the first
 * @split steps from zeros and then the rest loading C: chained calls must
 * sum exactly like one. Returns 1 on failure. */
static int
run_case (int64_t k, int mr, int nr, bool load, int mode, int64_t ldb, int64_t ldc, int64_t split,
          Stats *st)
{
  int nc = nr > 8 ? NR : 8;
  Guarded ga, gb;
  /* B: only the nc columns of the last row are read, so they end the map */
  if (guarded_alloc (&ga, (size_t) k * MR) || guarded_alloc (&gb, (size_t) ((k - 1) * ldb + nc)))
    exit (2);
  float *a = ga.p, *b = gb.p;
  for (int64_t x = 0; x < k * MR; x++)
    a[x] = rand_value (mode, (size_t) (k * MR));
  for (int64_t x = 0; x < (k - 1) * ldb + nc; x++)
    b[x] = rand_value (mode, (size_t) (k * NR));

  /* C: a canary row above, rows 0..5 (rows >= mr must stay canaries), a
   * canary row below, and NR canaries before the tile's first element */
  size_t n = (size_t) ((MR + 2) * ldc + 2 * NR), off = (size_t) (ldc + NR);
  float *got = malloc (n * sizeof (float)), *want = malloc (n * sizeof (float));
  for (size_t x = 0; x < n; x++)
    got[x] = u2f (CANARY);
  for (int i = 0; i < mr; i++)
    for (int j = 0; j < nc; j++)
      got[off + (size_t) (i * ldc + j)] = rand_value (mode, (size_t) (mr * nc));
  memcpy (want, got, n * sizeof (float));

  if (split > 0) {
    af_neon_gemm_acc (split, a, b, ldb, mr, nr, false, got + off, ldc);
    af_neon_gemm_acc (k - split, a + split * MR, b + split * ldb, ldb, mr, nr, true, got + off,
                      ldc);
  } else {
    af_neon_gemm_acc (k, a, b, ldb, mr, nr, load, got + off, ldc);
  }
  ref_gemm_acc (k, a, b, ldb, mr, nr, split > 0 ? false : load, want + off, ldc);
  int bad = compare (split > 0 ? "split" : "case", k, mr, nr, split > 0 ? false : load, mode, ldb,
                     ldc, got, want, n, off, st);
  free (got);
  free (want);
  munmap (ga.map, ga.len);
  munmap (gb.map, gb.len);
  return bad;
}

int
main (void)
{
  static const int64_t ks[] = { 1, 2, 3, 7, 64, 300 };
  static const int nrs[] = { 1, 5, 8, 9, 16 };
  Stats st = { 0 };
  if (check_f16 ())
    return 1;
  long failed = 0;
  for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++)
    for (int mr = 1; mr <= MR; mr++)
      for (size_t ni = 0; ni < sizeof nrs / sizeof nrs[0]; ni++)
        for (int mode = 0; mode < N_MODES; mode++)
          for (int strides = 0; strides < 2; strides++) {
            /* the packed layout conv uses (16), and wider rows */
            int64_t ldb = strides ? 17 + rng () % 23 : NR, ldc = strides ? 17 + rng () % 23 : NR;
            for (int load = 0; load < 2; load++)
              failed += run_case (ks[ki], mr, nrs[ni], load, mode, ldb, ldc, 0, &st);
            if (ks[ki] > 1)
              failed += run_case (ks[ki], mr, nrs[ni], false, mode, ldb, ldc, ks[ki] / 3 + 1, &st);
          }
  if (failed) {
    printf ("test-neon: %ld of %ld cases FAILED\n", failed, st.cases);
    return 1;
  }
  printf ("test-neon: %ld cases bit-identical (%ld values: %ld NaN, %ld inf, %ld -0), "
          "no canary written, no read past A or B\n",
          st.cases, st.values, st.nan, st.inf, st.negzero);
  return 0;
}
