/*
 * indicators.c — TA-Lib-exact incremental indicators (see indicators.h).
 *
 * Each update is O(1) and allocation-free. Where TA-Lib's batch code fixes
 * the order of floating-point operations (running totals, Wilder smoothing
 * written as (x*(n-1)+v)/n, the stochastic range divided by 100 before the
 * division), the same order is kept here so results agree to the last bits,
 * not just to a tolerance.
 */
#include "nx/indicators.h"
#include "nx/error.h"

#include <math.h>
#include <string.h>

/* TA-Lib's "is zero" tests. */
#define TA_IS_ZERO(v) (-0.00000000000001 < (v) && (v) < 0.00000000000001)
#define TA_IS_ZERO_OR_NEG(v) ((v) < 0.00000000000001)

static int bad_period(uint32_t n)
{
    return n == 0 || n > NX_IND_MAX_PERIOD;
}

static void win_init(nx_window_t *w, uint32_t n)
{
    memset(w, 0, sizeof *w);
    w->n = n;
}

/* Push x, replacing the oldest value once the window is full. */
static void win_push(nx_window_t *w, double x)
{
    w->v[w->head] = x;
    if (++w->head == w->n) /* not %: a division per window per candle adds up */
        w->head = 0;
    if (w->count < w->n)
        w->count++;
}

/* Oldest of the last n values (valid once n values were pushed). */
static double win_oldest(const nx_window_t *w)
{
    return w->v[w->head];
}

int nx_sma_init(nx_sma_t *s, uint32_t n)
{
    if (bad_period(n))
        return NX_EINVAL;
    memset(s, 0, sizeof *s);
    s->n = n;
    win_init(&s->w, n);
    return 0;
}

int nx_sma_update(nx_sma_t *s, double x)
{
    win_push(&s->w, x);
    s->count++;
    if (s->count < s->n) {
        s->total += x; /* the first n-1 values */
        return 0;
    }
    double t = s->total + x;
    s->value = t / s->n;
    s->total = t - win_oldest(&s->w);
    return 1;
}

int nx_ema_init(nx_ema_t *e, uint32_t n)
{
    if (n == 0)
        return NX_EINVAL;
    memset(e, 0, sizeof *e);
    e->n = n;
    e->k = 2.0 / (double)(n + 1);
    return 0;
}

int nx_ema_update(nx_ema_t *e, double x)
{
    e->count++;
    if (e->count < e->n) {
        e->sum += x;
        return 0;
    }
    if (e->count == e->n) {
        e->sum += x;
        e->value = e->sum / e->n; /* seeded with the SMA of the first n */
        return 1;
    }
    e->value = ((x - e->value) * e->k) + e->value;
    return 1;
}

int nx_rsi_init(nx_rsi_t *r, uint32_t n)
{
    if (n < 2)
        return NX_EINVAL;
    memset(r, 0, sizeof *r);
    r->n = n;
    return 0;
}

static double rsi_value(double gain, double loss)
{
    double t = gain + loss;
    return TA_IS_ZERO(t) ? 0.0 : 100.0 * (gain / t);
}

int nx_rsi_update(nx_rsi_t *r, double close)
{
    r->count++;
    if (r->count == 1) {
        r->prev = close;
        return 0;
    }
    double d = close - r->prev;
    r->prev = close;
    if (r->count <= r->n + 1) {
        if (d < 0)
            r->loss -= d;
        else
            r->gain += d;
        if (r->count < r->n + 1)
            return 0;
        r->loss /= r->n;
        r->gain /= r->n;
        r->value = rsi_value(r->gain, r->loss);
        return 1;
    }
    r->loss *= (r->n - 1);
    r->gain *= (r->n - 1);
    if (d < 0)
        r->loss -= d;
    else
        r->gain += d;
    r->loss /= r->n;
    r->gain /= r->n;
    r->value = rsi_value(r->gain, r->loss);
    return 1;
}

static double true_range(double high, double low, double prev_close)
{
    double out = high - low;
    double t = fabs(high - prev_close);
    if (t > out)
        out = t;
    t = fabs(low - prev_close);
    if (t > out)
        out = t;
    return out;
}

int nx_atr_init(nx_atr_t *a, uint32_t n)
{
    if (n == 0)
        return NX_EINVAL;
    memset(a, 0, sizeof *a);
    a->n = n;
    return 0;
}

int nx_atr_update(nx_atr_t *a, double high, double low, double close)
{
    a->count++;
    if (a->count == 1) {
        a->prev_close = close;
        return 0;
    }
    double tr = true_range(high, low, a->prev_close);
    a->prev_close = close;
    if (a->count <= a->n + 1) {
        a->sum += tr;
        if (a->count < a->n + 1)
            return 0;
        a->value = a->sum / a->n;
    } else {
        a->value *= a->n - 1;
        a->value += tr;
        a->value /= a->n;
    }
    a->natr = TA_IS_ZERO(close) ? 0.0 : (a->value / close) * 100.0;
    return 1;
}

int nx_adx_init(nx_adx_t *a, uint32_t n)
{
    if (n < 2)
        return NX_EINVAL;
    memset(a, 0, sizeof *a);
    a->n = n;
    return 0;
}

int nx_adx_update(nx_adx_t *a, double high, double low, double close)
{
    a->count++;
    if (a->count == 1) {
        a->prev_high = high;
        a->prev_low = low;
        a->prev_close = close;
        return 0;
    }
    double n = (double)a->n;
    double diff_p = high - a->prev_high;
    double diff_m = a->prev_low - low;
    a->prev_high = high;
    a->prev_low = low;
    double tr = true_range(high, low, a->prev_close);
    a->prev_close = close;
    uint32_t idx = a->count - 1; /* index of this candle */
    if (idx < a->n) {
        /* Seeding: plain sums over indices 1 .. n-1. */
        if (diff_m > 0 && diff_p < diff_m)
            a->mdm += diff_m;
        else if (diff_p > 0 && diff_p > diff_m)
            a->pdm += diff_p;
        a->tr += tr;
        return 0;
    }
    if (diff_m > 0 && diff_p < diff_m) {
        a->mdm = a->mdm - (a->mdm / n) + diff_m;
        a->pdm = a->pdm - (a->pdm / n);
    } else if (diff_p > 0 && diff_p > diff_m) {
        a->mdm = a->mdm - (a->mdm / n);
        a->pdm = a->pdm - (a->pdm / n) + diff_p;
    } else {
        a->mdm = a->mdm - (a->mdm / n);
        a->pdm = a->pdm - (a->pdm / n);
    }
    a->tr = a->tr - (a->tr / n) + tr;
    double dx = -1;
    if (!TA_IS_ZERO(a->tr)) {
        a->minus_di = 100.0 * (a->mdm / a->tr);
        a->plus_di = 100.0 * (a->pdm / a->tr);
        double sum = a->minus_di + a->plus_di;
        if (!TA_IS_ZERO(sum))
            dx = 100.0 * (fabs(a->minus_di - a->plus_di) / sum);
    } else {
        a->minus_di = a->plus_di = 0.0;
    }
    a->di_valid = 1;
    if (idx <= 2 * a->n - 1) {
        /* The DX of indices n .. 2n-1 (n values) seed the ADX. */
        if (dx >= 0)
            a->sum_dx += dx;
        if (idx == 2 * a->n - 1) {
            a->adx = a->sum_dx / n;
            a->adx_valid = 1;
        }
        return 1;
    }
    if (dx >= 0)
        a->adx = ((a->adx * (n - 1)) + dx) / n;
    return 1;
}

int nx_bbands_init(nx_bbands_t *b, uint32_t n, double k)
{
    if (bad_period(n) || n < 2)
        return NX_EINVAL;
    memset(b, 0, sizeof *b);
    b->n = n;
    b->k = k;
    win_init(&b->w, n);
    return 0;
}

int nx_bbands_update(nx_bbands_t *b, double x)
{
    win_push(&b->w, x);
    b->count++;
    double sq = x * x;
    if (b->count < b->n) {
        b->total += x;
        b->total2 += sq;
        return 0;
    }
    double oldest = win_oldest(&b->w);
    double t = b->total + x;
    double middle = t / b->n;
    b->total = t - oldest;
    b->total2 += sq;
    double mean2 = b->total2 / b->n;
    b->total2 -= oldest * oldest;
    mean2 -= middle * middle;
    double sd = !TA_IS_ZERO_OR_NEG(mean2) ? sqrt(mean2) : 0.0;
    double dev = sd * b->k;
    b->middle = middle;
    b->upper = middle + dev;
    b->lower = middle - dev;
    return 1;
}

int nx_macd_init(nx_macd_t *m, uint32_t fast, uint32_t slow, uint32_t signal)
{
    if (fast == 0 || slow <= fast || signal == 0)
        return NX_EINVAL;
    memset(m, 0, sizeof *m);
    m->fast = fast;
    m->slow = slow;
    m->signal_n = signal;
    nx_ema_init(&m->efast, fast);
    nx_ema_init(&m->eslow, slow);
    nx_ema_init(&m->esignal, signal);
    return 0;
}

int nx_macd_update(nx_macd_t *m, double close)
{
    m->count++;
    int slow_ok = nx_ema_update(&m->eslow, close);
    /* TA-Lib seeds the fast EMA on the slow EMA's window: the first
     * slow-fast closes are not part of it. */
    int fast_ok = 0;
    if (m->count > m->slow - m->fast)
        fast_ok = nx_ema_update(&m->efast, close);
    if (!slow_ok || !fast_ok)
        return 0;
    double macd = m->efast.value - m->eslow.value;
    if (!nx_ema_update(&m->esignal, macd))
        return 0;
    m->macd = macd;
    m->signal = m->esignal.value;
    m->hist = macd - m->signal;
    return 1;
}

int nx_rolling_init(nx_rolling_t *r, uint32_t n, int is_max)
{
    if (bad_period(n))
        return NX_EINVAL;
    memset(r, 0, sizeof *r);
    r->n = n;
    r->is_max = is_max;
    return 0;
}

/* Monotonic deque over the last n values: amortised O(1). */
int nx_rolling_update(nx_rolling_t *r, double x, double *out)
{
    uint32_t cap = NX_IND_MAX_PERIOD, i = r->count++;
    /* drop from the back what x dominates */
    while (r->size) {
        uint32_t back = (r->front + r->size - 1) % cap;
        if (r->is_max ? r->v[back] <= x : r->v[back] >= x)
            r->size--;
        else
            break;
    }
    uint32_t pos = (r->front + r->size) % cap;
    r->v[pos] = x;
    r->idx[pos] = i;
    r->size++;
    /* drop from the front what left the window */
    while (r->idx[r->front] + r->n <= i) {
        r->front = (r->front + 1) % cap;
        r->size--;
    }
    *out = r->v[r->front];
    return r->count >= r->n;
}

int nx_stoch_init(nx_stoch_t *s, uint32_t k, uint32_t slow_k, uint32_t slow_d)
{
    if (bad_period(k) || nx_sma_init(&s->slow_k, slow_k) || nx_sma_init(&s->slow_d, slow_d))
        return NX_EINVAL;
    s->k_n = k;
    nx_rolling_init(&s->hh, k, 1);
    nx_rolling_init(&s->ll, k, 0);
    s->k = s->d = 0;
    return 0;
}

int nx_stoch_update(nx_stoch_t *s, double high, double low, double close)
{
    double hh, ll;
    int ok = nx_rolling_update(&s->hh, high, &hh);
    nx_rolling_update(&s->ll, low, &ll);
    if (!ok)
        return 0;
    double diff = (hh - ll) / 100.0;
    double fast_k = diff != 0.0 ? (close - ll) / diff : 0.0;
    if (!nx_sma_update(&s->slow_k, fast_k))
        return 0;
    if (!nx_sma_update(&s->slow_d, s->slow_k.value))
        return 0;
    s->k = s->slow_k.value;
    s->d = s->slow_d.value;
    return 1;
}

void nx_obv_init(nx_obv_t *o)
{
    memset(o, 0, sizeof *o);
}

int nx_obv_update(nx_obv_t *o, double close, double volume)
{
    if (o->count++ == 0) {
        o->value = volume;
    } else if (close > o->prev_close) {
        o->value += volume;
    } else if (close < o->prev_close) {
        o->value -= volume;
    }
    o->prev_close = close;
    return 1;
}
