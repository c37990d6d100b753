"""Type stub of the compiled module ``adapters.upbit.units_parser`` (see ``units_parser.pyx``)."""

from nautilus_trader.model.data import OrderBookDeltas
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.identifiers import InstrumentId

class ParsedBook:
    @property
    def n_bids(self) -> int: ...
    @property
    def n_levels(self) -> int: ...
    @property
    def price_precision(self) -> int: ...
    @property
    def size_precision(self) -> int: ...
    def crossed(self) -> tuple[int, int] | None: ...
    def raw_levels(self) -> tuple[list[int], list[int], int]: ...
    def truncated(self, depth: int) -> ParsedBook: ...
    def to_deltas(
        self,
        instrument_id: InstrumentId,
        price_precision: int,
        size_precision: int,
        sequence: int,
        ts_event: int,
        ts_init: int,
    ) -> OrderBookDeltas: ...
    def to_quote(
        self,
        instrument_id: InstrumentId,
        price_precision: int,
        size_precision: int,
        ts_event: int,
        ts_init: int,
    ) -> QuoteTick | None: ...

class UnitsParser:
    def __init__(self, keys: tuple[str, ...]) -> None: ...
    def parse(self, units: bytes | memoryview, price_precision: int, size_precision: int) -> ParsedBook | None: ...

BUILT_AGAINST: str  # the NautilusTrader version this module was compiled against
