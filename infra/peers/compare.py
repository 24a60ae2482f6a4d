"""Compares glucolink's CGM metrics with iglu's (iglu_python) on the same synthetic readings.

Input: the JSON `cargo run --release -p glucolink-synth --bin peer-metrics FILE` writes (per patient: the readings
of the report period as [UTC time, mg/dL], our metrics, our compute time). Output: one table per
patient, the speed ratio, and exit status 1 if any metric differs by more than its tolerance.
Tolerances and the reasons for every difference are in docs/METRICS.md ("Checked against a peer").
"""

import json
import statistics
import sys
import time
import warnings

import iglu_python as iglu
import pandas as pd

warnings.filterwarnings("ignore")

# Our report rounds glucose to whole mg/dL, SD and percentages to one decimal, and the five ranges to
# tenths that add up to 100.0 (each within 0.1 of its value): the tolerances cover that rounding, nothing
# more, except % CGM active (see METRICS.md: we count over the report's local days, iglu from the first
# to the last reading).
TOLERANCE = {
    "mean": 0.5,
    "sd": 0.051,
    "cv_percent": 0.051,
    "gmi_percent": 0.051,
    "very_low": 0.101,
    "low": 0.101,
    "in_range": 0.101,
    "high": 0.101,
    "very_high": 0.101,
    "gri": 0.051,
    "cgm_active_percent": 1.0,
}


def value(frame, column):
    """The single value of an iglu result (a DataFrame with one row per subject, or a dict)."""
    if isinstance(frame, dict):
        return float(frame[column])
    return float(frame[column].iloc[0])


def peer_metrics(data, interval):
    below = iglu.below_percent(data, targets_below=[54, 70])
    above = iglu.above_percent(data, targets_above=[180, 250])
    below_54, below_70 = value(below, "below_54"), value(below, "below_70")
    above_180, above_250 = value(above, "above_180"), value(above, "above_250")
    return {
        "mean": value(iglu.mean_glu(data), "mean"),
        "sd": value(iglu.sd_glu(data), "SD"),
        "cv_percent": value(iglu.cv_glu(data), "CV"),
        "gmi_percent": value(iglu.gmi(data), "GMI"),
        "very_low": below_54,
        "low": below_70 - below_54,
        "in_range": value(iglu.in_range_percent(data, target_ranges=[[70, 180]]), "in_range_70_180"),
        "high": above_180 - above_250,
        "very_high": above_250,
        "gri": value(iglu.gri(data), "GRI"),
        "cgm_active_percent": value(iglu.active_percent(data, dt0=interval, tz="UTC"), "active_percent"),
    }


def ours(patient):
    m = patient["metrics"]
    flat = {k: m[k] for k in ("mean", "sd", "cv_percent", "gmi_percent", "gri", "cgm_active_percent")}
    flat.update(m["time_in_ranges"])
    return flat


def main(path):
    with open(path, encoding="utf-8") as f:
        patients = json.load(f)["patients"]
    failures = []
    ratios = []
    print("glucolink against iglu_python", iglu.__version__ if hasattr(iglu, "__version__") else "0.4.3")
    for patient in patients:
        readings = patient["readings"]
        data = pd.DataFrame(
            {
                "id": patient["name"],
                "time": pd.to_datetime([r[0] for r in readings], utc=True).tz_convert(None),
                "gl": [r[1] for r in readings],
            }
        )
        interval = 15 if "libre2" in patient["name"] else 5
        timings = []
        for _ in range(5):
            started = time.perf_counter()
            peer = peer_metrics(data, interval)
            timings.append((time.perf_counter() - started) * 1000)
        peer_ms = statistics.median(timings)
        mine = ours(patient)
        print(f"\n{patient['name']}: {len(readings)} readings, {patient['from']} to {patient['to']}")
        print(f"  {'metric':<20}{'glucolink':>12}{'iglu':>12}{'difference':>12}")
        for metric, tolerance in TOLERANCE.items():
            a, b = mine[metric], peer[metric]
            difference = a - b
            flag = "" if abs(difference) <= tolerance else "  <-- beyond tolerance"
            print(f"  {metric:<20}{a:>12.2f}{b:>12.2f}{difference:>12.3f}{flag}")
            if flag:
                failures.append(f"{patient['name']} {metric}: {a} against {b}")
        ratio = peer_ms / patient["compute_ms_p50"]
        ratios.append(ratio)
        print(
            f"  time: glucolink {patient['compute_ms_p50']:.2f} ms for the whole report "
            f"(metrics, AGP, days, insulin), iglu {peer_ms:.1f} ms for these metrics: {ratio:.0f}x"
        )
    print(f"\nspeed: glucolink is {min(ratios):.0f}x to {max(ratios):.0f}x faster than iglu_python")
    if failures:
        print("\ndifferences beyond tolerance:\n  " + "\n  ".join(failures))
        sys.exit(1)
    print("all metrics agree within the tolerances of docs/METRICS.md")


if __name__ == "__main__":
    main(sys.argv[1])
