"""The row-by-row mix / rate influence values (the page's first implementation).

Kept as a reference: :func:`analysis_helpers.trend_decompose._decompose` now derives the same
influence values from per-cell sums and one coefficient matrix per wave x segment cell; the
tests assert both give the same estimates and SEs (to 1e-10).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from analysis_helpers._design import PreparedDesign
from analysis_helpers.trend_decompose import _total_var


def reference_decompose(
    prep: PreparedDesign,
    rows: np.ndarray,
    in_b: np.ndarray,
    w: np.ndarray,
    seg: np.ndarray,
    names: list[str],
    values: Mapping[str, np.ndarray],
    columns: Mapping[str, float],
    wave_from: str,
    wave_to: str,
) -> pd.DataFrame:
    """Compute one KPI's decomposition over one segment column on the two waves' rows."""
    S = len(names)
    m_rows = len(rows)
    # components: 0 mix, 1 rate, then per segment: 2 + 2s mix_s, 3 + 2s rate_s
    K = 2 + 2 * S
    est = np.zeros(K)
    z = np.zeros((K, m_rows))
    share = np.full((2, S), np.nan)
    means = np.zeros((2, S))
    counts = np.zeros((2, S))
    wave_rows = (np.flatnonzero(~in_b), np.flatnonzero(in_b))
    own_mix = [np.zeros(len(r)) for r in wave_rows]
    own_rate = [np.zeros(len(r)) for r in wave_rows]
    a_mix: list[list[np.ndarray]] = [[], []]
    u_mix: list[list[np.ndarray]] = [[], []]
    a_rate: list[list[np.ndarray]] = [[], []]
    u_rate: list[list[np.ndarray]] = [[], []]
    for j, col in enumerate(columns):
        c = float(columns[col])
        y = values[col]
        valid = ~np.isnan(y)
        y0 = np.where(valid, y, 0.0)
        N = np.zeros((2, S))
        Y = np.zeros((2, S))
        for t, sel in enumerate((~in_b & valid, in_b & valid)):
            N[t] = np.bincount(seg[sel], weights=w[sel], minlength=S)
            Y[t] = np.bincount(seg[sel], weights=(w * y0)[sel], minlength=S)
        tot = N.sum(axis=1)
        if (tot <= 0).any():
            raise ValueError(
                f"decompose_change: column {col!r} has no answer in wave "
                f"{wave_from if tot[0] <= 0 else wave_to!r}"
            )
        p = N / tot[:, None]
        with np.errstate(invalid="ignore", divide="ignore"):
            m = np.where(N > 0, Y / np.where(N > 0, N, 1.0), np.nan)
        # a segment absent from one wave takes its mean from the other (its rate is 0)
        m = np.nan_to_num(np.where(np.isnan(m), m[::-1], m))
        mbar, dm = (m[0] + m[1]) / 2, m[1] - m[0]
        pbar, dp = (p[0] + p[1]) / 2, p[1] - p[0]
        M = (p * m).sum(axis=1)  # the column's mean in each wave
        Mbar = M.mean()
        mix_s, rate_s = (mbar - Mbar) * dp, pbar * dm  # centred mix: sums to the total mix
        est[0] += c * mix_s.sum()
        est[1] += c * rate_s.sum()
        est[2::2] += c * mix_s
        est[3::2] += c * rate_s
        if j == 0:
            share = p
        means += c * m
        counts += N > 0
        # influence values, per wave t (sign: +1 for b, -1 for a). With dshare_s =
        # w (1{s} - p_s) / N and dmean the row's influence on its own segment's mean:
        # mix_s = (mbar_s - Mbar) dp_s: d = (dmean_s / 2 - dMbar) dp_s
        #   + (mbar_s - Mbar) sign dshare_s;  rate_s = pbar_s dm_s: d = dshare_s dm_s / 2
        #   + pbar_s sign dmean_s. Each is an own-segment term plus outer products, summed
        #   over the columns as one matrix product per wave below.
        for t, sign in ((0, -1.0), (1, 1.0)):
            r = wave_rows[t]
            ok = valid[r]
            sr, wr, yr = seg[r], w[r], y0[r]
            Nst = np.where(N[t] > 0, N[t], 1.0)
            dmean = np.where(ok, wr * (yr - m[t][sr]) / Nst[sr], 0.0)
            wn = np.where(ok, wr / tot[t], 0.0)
            dM = np.where(ok, wr * (yr - M[t]) / tot[t] / 2, 0.0)
            cen = mbar - Mbar
            own_mix[t] += c * (dp[sr] / 2 * dmean + sign * cen[sr] * wn)
            own_rate[t] += c * (wn * dm[sr] / 2 + sign * pbar[sr] * dmean)
            a_mix[t] += [-c * dp, -c * sign * cen * p[t]]
            u_mix[t] += [dM, wn]
            a_rate[t].append(-c * p[t] * dm / 2)
            u_rate[t].append(wn)
    for t in (0, 1):
        r = wave_rows[t]
        if len(r) == 0:
            continue
        zm = np.column_stack(a_mix[t]) @ np.vstack(u_mix[t])
        zr = np.column_stack(a_rate[t]) @ np.vstack(u_rate[t])
        idx = (seg[r], np.arange(len(r)))
        np.add.at(zm, idx, own_mix[t])
        np.add.at(zr, idx, own_rate[t])
        z[2::2, r] = zm
        z[3::2, r] = zr
        z[0, r] = zm.sum(axis=0)
        z[1, r] = zr.sum(axis=0)
    var = _total_var(prep, rows, np.vstack([z[0] + z[1], z]))
    comp = ["change", "mix", "rate"] + ["mix", "rate"] * S
    segs = ["", "", ""] + [n for n in names for _ in range(2)]
    out = pd.DataFrame(
        {
            "component": comp,
            "segment": segs,
            "estimate": np.r_[est[0] + est[1], est],
            "se": np.sqrt(var),
        }  # fmt: skip
    )
    k = np.r_[np.full(3, -1), np.repeat(np.arange(S), 2)]
    has = k >= 0
    for col, arr in (("share_from", share[0]), ("share_to", share[1])):
        out[col] = np.where(has, arr[np.maximum(k, 0)], np.nan)
    for col, t in (("mean_from", 0), ("mean_to", 1)):
        seen = np.where(counts[t] > 0, means[t], np.nan)
        out[col] = np.where(has, seen[np.maximum(k, 0)], np.nan)
    return out
