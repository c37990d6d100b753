"""
Child process for the logging tests: NautilusTrader's logger can be set up once per process only.

Usage: ``python log_child.py LOG_DIR SESSION_ID SCHEMA ENV`` with ``BINANCE_API_KEY`` etc. in the environment.
Builds a ``TradingNode`` whose log is routed into a ``LoggingManager`` (development policy), logs through
NautilusTrader's own ``Logger`` and through the manager, each line carrying the secrets, then shuts down.
``ENV`` picks the policy (levels, console or not).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from nautilus_trader.common.component import Logger
from nautilus_trader.config import TradingNodeConfig
from nautilus_trader.live.node import TradingNode

from arb_plugin.observability.logging import LogCategory
from arb_plugin.observability.logging import LoggingManager
from arb_plugin.observability.logging import LoggingTargets
from arb_plugin.observability.nautilus_logs import NautilusLogRouter
from arb_plugin.settings import Environment
from arb_plugin.settings import Secrets


def main() -> None:
    log_dir, session_id, schema, env = sys.argv[1:5]
    secrets = Secrets.from_environ(os.environ)
    manager = LoggingManager(
        Environment(env),
        session_id,
        LoggingTargets(
            Path(log_dir),
            redis_url=os.environ["TEST_REDIS_URL"],
            postgres_dsn=os.environ["TEST_PG_DSN"],
            postgres_server_settings={"search_path": schema},
            pg_batch_size=3,
            stream_env=session_id,
        ),
        secrets=secrets.values(),
    ).start()
    router = NautilusLogRouter(manager)
    node = TradingNode(TradingNodeConfig(logging=router.logging_config()))
    router.attach()
    key = os.environ["BINANCE_API_KEY"]
    upbit = os.environ["UPBIT_SECRET_KEY"]
    nt_log = Logger("BinanceSpotDataClient-BINANCE")
    nt_log.info(f"marker-nt-info loaded with key {key}")
    nt_log.warning(f"marker-nt-warning api_secret={os.environ['BINANCE_API_SECRET']}")
    nt_log.error(f"marker-nt-error upbit {upbit}")
    ours = manager.get_logger(LogCategory.EXCHANGE, "UpbitHttp")
    ours.info(f"marker-arb-info access {os.environ['UPBIT_ACCESS_KEY']}")
    ours.warning("marker-arb-warning", dsn=os.environ["ARB_POSTGRES_DSN"])
    ours.error(f"marker-arb-error secret={upbit}")
    node.build()
    node.dispose()
    router.close()
    manager.stop()
    print(f"router lines={router.lines} malformed={router.malformed}")


if __name__ == "__main__":
    main()
