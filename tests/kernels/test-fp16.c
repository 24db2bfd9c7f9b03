/* test-fp16.c — the bulk fp16 conversions (F16C when available) against the
 * scalar reference functions, bit for bit. */
#include "aneforge.h"
#include "cpu-features.h"

#include <math.h>
#include <string.h>

static guint32 seed;

static guint32
f2u (float f)
{
  guint32 u;
  memcpy (&u, &f, 4);
  return u;
}

static float
u2f (guint32 u)
{
  float f;
  memcpy (&f, &u, 4);
  return f;
}

/* Known values prove the scalar reference rounds to nearest even, flushes
 * and overflows where IEEE says. */
static void
test_scalar_known (void)
{
  g_assert_cmphex (af_f32_to_fp16 (1.0f), ==, 0x3c00);
  g_assert_cmphex (af_f32_to_fp16 (65504.0f), ==, 0x7bff);
  g_assert_cmphex (af_f32_to_fp16 (65519.99f), ==, 0x7bff);
  g_assert_cmphex (af_f32_to_fp16 (65520.0f), ==, 0x7c00);           /* tie rounds up to inf */
  g_assert_cmphex (af_f32_to_fp16 (1.0f + 1.0f / 2048), ==, 0x3c00); /* tie to even */
  g_assert_cmphex (af_f32_to_fp16 (1.0f + 3.0f / 2048), ==, 0x3c02); /* tie to even */
  g_assert_cmphex (af_f32_to_fp16 (ldexpf (1.0f, -24)), ==, 0x0001); /* smallest subnormal */
  g_assert_cmphex (af_f32_to_fp16 (ldexpf (1.0f, -25)), ==, 0x0000); /* tie to even: 0 */
  g_assert_cmphex (af_f32_to_fp16 (ldexpf (1.5f, -25)), ==, 0x0001);
  g_assert_cmphex (af_f32_to_fp16 (ldexpf (3.0f, -25)), ==, 0x0002); /* 1.5 ulp: to even */
  g_assert_cmphex (af_f32_to_fp16 (-0.0f), ==, 0x8000);
  g_assert_cmphex (af_f32_to_fp16 (-INFINITY), ==, 0xfc00);
  g_assert_true ((af_f32_to_fp16 (NAN) & 0x7fff) > 0x7c00);
  g_assert_cmpfloat (af_fp16_to_f32 (0x0001), ==, ldexpf (1.0f, -24));
  g_assert_cmpfloat (af_fp16_to_f32 (0xfbff), ==, -65504.0f);
}

/* All 65536 halves widen to the same bits in bulk as one by one, for every
 * tail length and misalignment of the bulk loop. */
static void
test_to_f32_exhaustive (void)
{
  guint16 *h = g_new (guint16, 65536 + 16);
  float *f = g_new (float, 65536 + 16);
  for (guint32 i = 0; i < 65536; i++)
    h[i] = (guint16) i;
  for (gsize off = 0; off < 9; off++) {
    gsize n = 65536 - off - (off * 3 % 8);
    memset (f, 0xa5, sizeof (float) * (65536 + 16));
    af_fp16_to_f32_n (h + off, f, n);
    for (gsize i = 0; i < n; i++)
      if (f2u (f[i]) != f2u (af_fp16_to_f32 (h[off + i])))
        g_error ("half 0x%04x: bulk 0x%08x scalar 0x%08x", h[off + i], f2u (f[i]),
                 f2u (af_fp16_to_f32 (h[off + i])));
    g_assert_cmphex (f2u (f[n]), ==, 0xa5a5a5a5); /* nothing past n */
  }
  g_free (h);
  g_free (f);
}

static void
check_to_fp16 (const float *src, gsize n)
{
  guint16 *dst = g_new (guint16, n + 1);
  dst[n] = 0x1234;
  af_f32_to_fp16_n (src, dst, n);
  for (gsize i = 0; i < n; i++)
    if (dst[i] != af_f32_to_fp16 (src[i]))
      g_error ("float 0x%08x (%g): bulk 0x%04x scalar 0x%04x (seed %u)", f2u (src[i]), src[i],
               dst[i], af_f32_to_fp16 (src[i]), seed);
  g_assert_cmphex (dst[n], ==, 0x1234);
  g_free (dst);
}

/* Every half, its neighbours one float ulp away and every exact midpoint
 * between adjacent halves narrow to the same bits in bulk as one by one. */
static void
test_to_fp16_edges (void)
{
  float *f = g_new (float, 65536 * 4);
  gsize n = 0;
  for (guint32 i = 0; i < 65536; i++) {
    guint32 u = f2u (af_fp16_to_f32 ((guint16) i));
    f[n++] = u2f (u);
    f[n++] = u2f (u + 1);
    f[n++] = u2f (u - 1);
    if ((i & 0x7fff) < 0x7bff) /* midpoint to the next half up in magnitude */
      f[n++] = (af_fp16_to_f32 ((guint16) i) + af_fp16_to_f32 ((guint16) (i + 1))) * 0.5f;
  }
  check_to_fp16 (f, n);
  check_to_fp16 (f + 3, n - 10);
  g_free (f);
}

/* Millions of random bit patterns (all exponents: float subnormals, halves'
 * subnormal range, overflow, inf, NaN with payloads) narrow identically. */
static void
test_to_fp16_random (void)
{
  GRand *r = g_rand_new_with_seed (seed);
  gsize n = 1 << 22;
  float *f = g_new (float, n);
  for (gsize i = 0; i < n; i++) {
    guint32 u = g_rand_int (r);
    if (i % 4 == 1) /* concentrate on the half's range */
      u = (u & 0x807fffffu) | ((guint32) g_rand_int_range (r, 100, 145) << 23);
    f[i] = u2f (u);
  }
  check_to_fp16 (f, n);
  g_rand_free (r);
  g_free (f);
}

/* The portable switch gives the same bits as well (it only drops F16C). */
static void
test_portable_switch (void)
{
  guint16 h[37];
  float a[37], b[37];
  for (int i = 0; i < 37; i++)
    h[i] = (guint16) (i * 1777 + 3);
  af_fp16_to_f32_n (h, a, 37);
  af__cpu_force_portable (TRUE);
  g_assert_false (af__cpu_use_simd ());
  af_fp16_to_f32_n (h, b, 37);
  af__cpu_force_portable (FALSE);
  g_assert_cmpmem (a, sizeof a, b, sizeof b);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  const char *s = g_getenv ("AF_TEST_SEED");
  seed = s ? (guint32) g_ascii_strtoull (s, NULL, 10) : (guint32) g_random_int ();
  g_printerr ("# seed %u (AF_TEST_SEED to replay); simd %s\n", seed,
              af__cpu_use_simd () ? "on" : "off");
  g_test_add_func ("/fp16/scalar-known", test_scalar_known);
  g_test_add_func ("/fp16/to-f32-exhaustive", test_to_f32_exhaustive);
  g_test_add_func ("/fp16/to-fp16-edges", test_to_fp16_edges);
  g_test_add_func ("/fp16/to-fp16-random", test_to_fp16_random);
  g_test_add_func ("/fp16/portable-switch", test_portable_switch);
  return g_test_run ();
}
