"""
`arb backtest` through the CLI on the shipped catalog: report files, PnL identity recomputed independently
from fills.csv and the catalog's FX series, and bad arguments.
"""

import bisect
import csv
import json
import shutil
import subprocess
import sys
from decimal import ROUND_HALF_EVEN
from decimal import Decimal
from pathlib import Path

import pytest
from nautilus_trader.persistence.catalog import ParquetDataCatalog

REPO = Path(__file__).resolve().parents[2]
D = Decimal


def arb(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "arb_plugin.cli", *args], capture_output=True, text=True, cwd=cwd)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    r = arb("backtest", "--out", str(out), "--no-progress")
    assert r.returncode == 0, r.stderr[-3000:]
    return out, r.stdout


def test_writes_summary_fills_positions_and_tearsheet(report):
    out, stdout = report
    for name in ("summary.json", "fills.csv", "positions.csv", "tearsheet.html"):
        assert (out / name).stat().st_size > 0, name
    assert "TOTAL PnL" in stdout and "KRW" in stdout and "USDT" in stdout
    html = (out / "tearsheet.html").read_text()
    assert "plotly" in html.lower() and "combined KRW equity" in html


def test_summary_states_data_and_fx_resolution(report):
    summary = json.loads((report[0] / "summary.json").read_text())
    assert "1-MINUTE-LAST-EXTERNAL bars" in summary["run"]["data_resolution"]
    assert "half-spread of 2 bps" in summary["run"]["data_resolution"]
    assert "daily" in summary["run"]["fx_resolution"] and "ECOS" in summary["run"]["fx_resolution"]
    assert summary["trades"]["round_trips"] >= 5
    assert set(summary["premium_bps"]["BTCUSDT"]) >= {"mean", "p5", "p50", "p95", "samples"}
    assert D(summary["equity"]["max_drawdown_krw"]) >= 0


def fx_lookup(catalog: Path):
    bars = ParquetDataCatalog(str(catalog)).bars(bar_types=["KRW-USDT.UPBIT-1-DAY-LAST-EXTERNAL"])
    ts = [b.ts_init for b in bars]
    rates = [b.close.as_decimal() for b in bars]
    return lambda t: rates[bisect.bisect_right(ts, t) - 1]


def test_pnl_identity_from_fills_csv(report):
    """The reported total equals the cash flows recomputed here: price x qty, fees, FX at fill time."""
    out, _ = report
    summary = json.loads((out / "summary.json").read_text())
    assert summary["trades"]["open_pairs"] == []  # all flat at the end: PnL is the cash flows alone
    fx_at = fx_lookup(REPO / "catalog")
    total_krw = D(0)
    total_usdt = D(0)
    per_venue = {"BINANCE": D(0), "UPBIT": D(0)}
    with (out / "fills.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == summary["trades"]["fills"] > 0
    for row in rows:
        qty, px, fee = D(row["quantity"]), D(row["price"]), D(row["commission"])
        assert row["commission_currency"] == row["quote_currency"]
        flow = (px * qty if row["side"] == "SELL" else -px * qty) - fee
        per_venue[row["venue"]] += flow
        rate = fx_at(int(row["ts_event"]))
        if row["quote_currency"] == "KRW":
            total_krw += flow
            total_usdt += flow / rate
        else:
            total_krw += flow * rate
            total_usdt += flow
    assert D(summary["total"]["pnl_krw"]) == total_krw.quantize(D(1), ROUND_HALF_EVEN)
    assert D(summary["total"]["pnl_usdt"]) == total_usdt.quantize(D("0.00000001"), ROUND_HALF_EVEN)
    # per venue, the flows equal NautilusTrader's own position realized PnL
    binance_nt = summary["venues"]["BINANCE"]["nautilus_realized_pnl"][0].replace(" USDT", "").replace("_", "")
    upbit_nt = summary["venues"]["UPBIT"]["nautilus_realized_pnl"][0].replace(" KRW", "").replace("_", "")
    assert per_venue["BINANCE"] == D(binance_nt)
    assert per_venue["UPBIT"] == D(upbit_nt)


def test_positions_csv_lists_both_venues(report):
    with (report[0] / "positions.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert {r["instrument_id"] for r in rows} == {"BTCUSDT.BINANCE", "KRW-BTC.UPBIT"}
    assert all(r["is_closed"] == "True" for r in rows)


def test_window_options(tmp_path):
    out = tmp_path / "r"
    r = arb(
        "backtest", "--start", "2024-12-03", "--end", "2024-12-05", "--out", str(out), "--no-progress", "--no-tearsheet"
    )
    assert r.returncode == 0, r.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["run"]["start"].startswith("2024-12-03") and summary["run"]["end"].startswith("2024-12-05")


def test_other_catalog_folder(tmp_path):
    shutil.copytree(REPO / "catalog", tmp_path / "cat")
    r = arb(
        "backtest",
        "--catalog",
        str(tmp_path / "cat"),
        "--out",
        str(tmp_path / "r"),
        "--no-progress",
        "--no-tearsheet",
        "--end",
        "2024-11-25",
    )
    assert r.returncode == 0, r.stderr[-2000:]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["backtest", "--start", "yesterday-ish"], "start='yesterday-ish' is not a date/time"),
        (["backtest", "--catalog", "/nonexistent"], "/nonexistent is not a ParquetDataCatalog"),
        (["backtest", "--start", "2030-01-01"], "empty backtest window"),
        (["--env", "qa", "backtest"], "env = 'qa': must be one of development, staging, production"),
        (["backtest", "--config", "/nope.toml"], "config file /nope.toml not found"),
    ],
)
def test_bad_arguments(args, message):
    r = arb(*args)
    assert r.returncode == 2, r.stderr[-2000:]
    assert message in r.stderr


def test_bad_setting_from_environment_stops_start_up(tmp_path):
    import os

    env = dict(os.environ, ARB_STRATEGY__TRADE_SIZE="-0.5")
    r = subprocess.run(
        [sys.executable, "-m", "arb_plugin.cli", "backtest", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
    )
    assert r.returncode == 2 and "strategy.trade_size = '-0.5'" in r.stderr and "greater than 0" in r.stderr
    assert not (tmp_path / "summary.json").exists()
