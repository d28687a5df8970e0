#!/usr/bin/python3
"""Make the XGBoost reference files in tests/data/xgboost/ from the bundled BTCUSDT 15m candles.

A small multi-class regime model trained with XGBoost's own Python package (Debian 12
python3-xgboost 1.7.4, the same libxgboost 1.7.4 the engine links), the rows it is checked on,
and the probabilities XGBoost itself gives for them, so that a C test can check that the engine's
inference through XGBoost's C API -- matching columns by name, RobustScaler from meta.json,
float32 matrix -- gives the same class probabilities (to 1e-6).

Run with /usr/bin/python3 (python3-xgboost and python3-numpy from Debian; no pip packages):

    /usr/bin/python3 tests/data/xgboost/make_reference.py          # (re)write the files
    /usr/bin/python3 tests/data/xgboost/make_reference.py --check  # independent check

Files written next to this script:

    model.json     booster.save_model() in XGBoost's JSON format, with the feature names
    meta.json      format, feature order, classes, RobustScaler centre/scale, label rule, training range
    rows.csv       200 held-out rows of RAW (unscaled) features, after the training range; columns:
                   open_time_ms (not a model feature), the 8 features in an order that is NOT the
                   model's (so a reader must match by name), note (not a model feature, constant 42);
                   floats as '%.17g' (repr-exact)
    expected.csv   one line per row of rows.csv: the 4 class probabilities in class order, '%.9g'
                   (exact for float32), from booster.predict() on the scaled float32 rows

Features of candle i (plain numpy, float64; open/high/low/close/volume of the candle file):

    ret_1       close[i] / close[i-1] - 1
    ret_4       close[i] / close[i-4] - 1
    ret_16      close[i] / close[i-16] - 1
    range_pct   (high[i] - low[i]) / close[i]
    body_pct    (close[i] - open[i]) / open[i]
    vol_rel_20  volume[i] / mean(volume[i-19..i])      (SMA20 of volume, including candle i)
    hour_utc    hour of day of the candle's open time, UTC (0..23)
    dow_utc     day of week of the candle's open time, UTC (0 = Monday .. 6 = Sunday)

Label of candle i (a SYNTHETIC rule for testing only, not a trading truth), from the 16 candles
after it: r_k = ln(close[i+k] / close[i+k-1]) for k = 1..16, fwd_ret = close[i+16] / close[i] - 1,
fwd_vol = sqrt(mean(r_k^2)) (per-candle realised volatility):

    trend           if |sum r_k| >= 1.25 * sqrt(sum r_k^2)    (the net move dominates the path's noise)
    scalping        else if fwd_vol >= 0.004                  (volatile but going nowhere)
    mean_reversion  else if fwd_ret * ret_16 < 0               (calm, undoing the last 16 candles' move)
    grid            otherwise                                  (calm, no reversal: ranging)

A candle is used only if its whole window, candles i-19 .. i+16, exists and is gap-free (every
step 900 s: the file has four real exchange gaps); rows are then in time order.

Scaling (RobustScaler by hand): per feature, center = median and scale = q75 - q25 (numpy's
default linear percentile) over the TRAINING rows only; scaled = (x - center) / scale computed in
float64, then the matrix cast to float32 for XGBoost.

Training: the first 8000 usable rows; xgb.train with objective multi:softprob, num_class 4,
max_depth 4, eta 0.3, nthread 1, seed 0, tree_method exact, 30 rounds (deterministic: two runs
give byte-identical model.json and expected.csv). Check rows: 200 rows evenly spaced over the
usable rows after the training range (a wider mix of market states than 200 consecutive candles).
"""

import csv
import datetime
import json
import os
import sys

import numpy as np
import xgboost as xgb

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
CANDLES = os.path.join(REPO, "tests", "data", "candles",
                       "binance_spot_BTCUSDT_15m_20210112_20210605.csv")

FEATURES = ["ret_1", "ret_4", "ret_16", "range_pct", "body_pct", "vol_rel_20", "hour_utc", "dow_utc"]
# rows.csv column order: deliberately not the model's, with two columns the model does not know.
ROWS_COLUMNS = ["open_time_ms", "vol_rel_20", "hour_utc", "ret_16", "range_pct", "dow_utc",
                "ret_1", "body_pct", "ret_4", "note"]
NOTE_VALUE = 42
CLASSES = ["trend", "scalping", "mean_reversion", "grid"]

STEP_MS = 900_000
LOOKBACK = 19      # candles before i a row needs (SMA20 of volume: i-19..i; ret_16 needs i-16)
HORIZON = 16       # candles after i the label needs
TREND_EFF = 1.25
VOL_HI = 0.004

TRAIN_ROWS = 8000
CHECK_ROWS = 200
PARAMS = {
    "objective": "multi:softprob",
    "num_class": 4,
    "max_depth": 4,
    "eta": 0.3,
    "nthread": 1,
    "seed": 0,
    "tree_method": "exact",
}
ROUNDS = 30

LABEL_RULE = ("Synthetic, from the 16 candles after the row (r_k = 16 one-candle log returns): "
              "trend if |sum r_k| >= 1.25*sqrt(sum r_k^2), else scalping if sqrt(mean r_k^2) >= 0.004, "
              "else mean_reversion if the 16-candle forward return and ret_16 have opposite signs, "
              "else grid.")


def utc_iso(ms):
    return datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def load_candles():
    with open(CANDLES, newline="") as f:
        rd = csv.reader(f)
        header = next(rd)
        assert header == ["open_time_ms", "open", "high", "low", "close", "volume"], header
        rows = [r for r in rd]
    t = np.array([int(r[0]) for r in rows], dtype=np.int64)
    ohlcv = np.array([[float(x) for x in r[1:6]] for r in rows], dtype=np.float64)
    return t, ohlcv[:, 0], ohlcv[:, 1], ohlcv[:, 2], ohlcv[:, 3], ohlcv[:, 4]


def build_dataset():
    """Features (float64, model order), labels, open times of the usable rows, in time order."""
    t, o, h, l, c, v = load_candles()
    n = len(t)
    idx = np.arange(LOOKBACK, n - HORIZON)

    # gap-free window i-19 .. i+16: no bad step among steps (j-1 -> j) for j in i-18 .. i+16
    bad = np.zeros(n, dtype=np.int64)
    bad[1:] = (np.diff(t) != STEP_MS).astype(np.int64)
    cbad = np.cumsum(bad)                                   # cbad[j] = bad steps in 1..j
    ok = (cbad[idx + HORIZON] - cbad[idx - LOOKBACK]) == 0
    idx = idx[ok]

    csum_v = np.concatenate([[0.0], np.cumsum(v)])
    sma20_v = (csum_v[idx + 1] - csum_v[idx - 19]) / 20.0

    secs = t[idx] // 1000
    days = secs // 86400
    feats = np.column_stack([
        c[idx] / c[idx - 1] - 1.0,
        c[idx] / c[idx - 4] - 1.0,
        c[idx] / c[idx - 16] - 1.0,
        (h[idx] - l[idx]) / c[idx],
        (c[idx] - o[idx]) / o[idx],
        v[idx] / sma20_v,
        ((secs % 86400) // 3600).astype(np.float64),
        ((days + 3) % 7).astype(np.float64),                # 1970-01-01 was a Thursday (3)
    ])

    lr = np.zeros(n)
    lr[1:] = np.log(c[1:] / c[:-1])
    fwd = np.stack([lr[idx + k] for k in range(1, HORIZON + 1)], axis=1)
    net = fwd.sum(axis=1)
    ss = (fwd * fwd).sum(axis=1)
    fwd_vol = np.sqrt(ss / HORIZON)
    fwd_ret = c[idx + HORIZON] / c[idx] - 1.0
    ret_16 = feats[:, 2]
    y = np.where(np.abs(net) >= TREND_EFF * np.sqrt(ss), 0,
        np.where(fwd_vol >= VOL_HI, 1,
        np.where(fwd_ret * ret_16 < 0, 2, 3))).astype(np.int64)

    assert np.all(np.isfinite(feats)), "non-finite feature"
    return feats, y, t[idx]


def fit_robust(x):
    center = np.median(x, axis=0)
    q25, q75 = np.percentile(x, [25, 75], axis=0)
    scale = q75 - q25
    assert np.all(scale > 0), scale
    return center, scale


def scale_rows(x, center, scale):
    return ((x - center) / scale).astype(np.float32)


def make():
    feats, y, times = build_dataset()
    n = len(y)
    assert n > TRAIN_ROWS + CHECK_ROWS, n
    xtr, ytr = feats[:TRAIN_ROWS], y[:TRAIN_ROWS]
    for k in range(len(CLASSES)):
        assert (ytr == k).any(), "class %s missing from training rows" % CLASSES[k]

    center, scale = fit_robust(xtr)
    dtrain = xgb.DMatrix(scale_rows(xtr, center, scale), label=ytr, feature_names=FEATURES)
    booster = xgb.train(PARAMS, dtrain, num_boost_round=ROUNDS)
    assert booster.feature_names == FEATURES
    booster.save_model(os.path.join(HERE, "model.json"))

    pick = TRAIN_ROWS + np.round(np.linspace(0, n - TRAIN_ROWS - 1, CHECK_ROWS)).astype(np.int64)
    assert len(np.unique(pick)) == CHECK_ROWS
    xck = feats[pick]
    prob = booster.predict(xgb.DMatrix(scale_rows(xck, center, scale), feature_names=FEATURES))
    assert prob.shape == (CHECK_ROWS, len(CLASSES)) and prob.dtype == np.float32

    with open(os.path.join(HERE, "rows.csv"), "w", newline="") as f:
        f.write(",".join(ROWS_COLUMNS) + "\n")
        for r, i in enumerate(pick):
            cells = []
            for name in ROWS_COLUMNS:
                if name == "open_time_ms":
                    cells.append("%d" % times[i])
                elif name == "note":
                    cells.append("%d" % NOTE_VALUE)
                else:
                    cells.append("%.17g" % xck[r, FEATURES.index(name)])
            f.write(",".join(cells) + "\n")

    with open(os.path.join(HERE, "expected.csv"), "w", newline="") as f:
        f.write(",".join(CLASSES) + "\n")
        for p in prob:
            f.write(",".join("%.9g" % float(x) for x in p) + "\n")

    meta = {
        "format": "nexus-regime-model/1",
        "model_file": "model.json",
        "xgboost_version": xgb.__version__,
        "features": FEATURES,
        "classes": CLASSES,
        "scaler": {"kind": "robust",
                   "center": [float(x) for x in center],
                   "scale": [float(x) for x in scale]},
        "label_rule": LABEL_RULE,
        "train_range": {"from": utc_iso(int(times[0])),
                        "to": utc_iso(int(times[TRAIN_ROWS - 1])),
                        "rows": TRAIN_ROWS},
        "trained_by": "python3-xgboost %s (tests/data/xgboost/make_reference.py)" % xgb.__version__,
    }
    assert meta["xgboost_version"] == "1.7.4", "expected Debian 12 python3-xgboost 1.7.4"
    with open(os.path.join(HERE, "meta.json"), "w") as f:
        f.write(json.dumps(meta, indent=2) + "\n")

    print("usable rows %d, training rows %d (%s .. %s), check rows %d (%s .. %s)" % (
        n, TRAIN_ROWS, meta["train_range"]["from"], meta["train_range"]["to"], CHECK_ROWS,
        utc_iso(int(times[pick[0]])), utc_iso(int(times[pick[-1]]))))
    for name, part in (("training", ytr), ("all usable", y), ("check rows", y[pick])):
        counts = np.bincount(part, minlength=len(CLASSES))
        print("class balance, %s: %s" % (name, ", ".join(
            "%s %d" % (CLASSES[k], counts[k]) for k in range(len(CLASSES)))))
    acc_tr = float((booster.predict(dtrain).argmax(axis=1) == ytr).mean())
    acc_ck = float((prob.argmax(axis=1) == y[pick]).mean())
    print("argmax accuracy: training %.3f, check rows %.3f" % (acc_tr, acc_ck))


def check():
    """Independent of make(): only the written files, a fresh Booster, columns matched by name."""
    with open(os.path.join(HERE, "meta.json")) as f:
        meta = json.load(f)
    assert meta["format"] == "nexus-regime-model/1"
    feats = meta["features"]
    classes = meta["classes"]
    center = np.array(meta["scaler"]["center"], dtype=np.float64)
    scale = np.array(meta["scaler"]["scale"], dtype=np.float64)
    assert meta["scaler"]["kind"] == "robust" and len(center) == len(scale) == len(feats)

    booster = xgb.Booster(model_file=os.path.join(HERE, meta["model_file"]))
    booster.set_param({"nthread": 1})
    assert booster.feature_names == feats, (booster.feature_names, feats)

    with open(os.path.join(HERE, "rows.csv"), newline="") as f:
        rd = csv.reader(f)
        header = next(rd)
        body = [r for r in rd]
    cols = [header.index(name) for name in feats]
    unknown = [h for h in header if h not in feats]
    x = np.array([[float(r[j]) for j in cols] for r in body], dtype=np.float64)
    xs = ((x - center) / scale).astype(np.float32)
    prob = booster.predict(xgb.DMatrix(xs, feature_names=feats))

    with open(os.path.join(HERE, "expected.csv"), newline="") as f:
        rd = csv.reader(f)
        assert next(rd) == classes
        exp = np.array([[float(v) for v in r] for r in rd], dtype=np.float64)
    assert exp.shape == prob.shape, (exp.shape, prob.shape)
    # expected.csv is '%.9g', which reads back to the very float32 XGBoost gave; as decimals the
    # two differ by at most 5e-10 (the float32 value's digits past the 9th)
    maxdiff = float(np.abs(prob.astype(np.float64) - exp).max())
    maxdiff32 = float(np.abs(prob - exp.astype(np.float32)).max())
    rowsum = float(np.abs(prob.astype(np.float64).sum(axis=1) - 1.0).max())
    print("check: %d rows, columns matched by name (ignored: %s), max |predict - float32(expected)|"
          " = %.3g, max |predict - expected as decimal| = %.3g, max |row sum - 1| = %.3g" % (
              len(body), ", ".join(unknown), maxdiff32, maxdiff, rowsum))
    ok = maxdiff < 1e-7
    print("check %s" % ("OK" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    if sys.argv[1:] == ["--check"]:
        sys.exit(check())
    elif sys.argv[1:]:
        sys.exit("usage: make_reference.py [--check]")
    make()
