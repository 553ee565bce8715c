"""The pydantic payload converter, built once per process instead of once per payload.

The SDK (temporalio 1.35) builds a new `DataConverter` for every workflow activation it decodes
and encodes, and another for every activity payload whose serialization context differs from the
workflow's; each one instantiates `payload_converter_class` in `__post_init__`, even where only
the codec is used. `PydanticPayloadConverter()` builds six encoding converters and a fresh
type-adapter cache each time: in a profile of a 949-event replay that construction was about a
sixth of the time spent handling activations, and every fresh cache re-built its type adapters.

`SharedPydanticPayloadConverter` is the same converter with the same wire format; every instance
shares one set of encoding converters (they are stateless but for the type-adapter cache, which
is thread-safe and now kept), so constructing one costs a dict.
"""

from __future__ import annotations

from functools import cache

from temporalio.contrib.pydantic import PydanticPayloadConverter
from temporalio.converter import DataConverter, EncodingPayloadConverter


@cache
def _shared_converters() -> tuple[EncodingPayloadConverter, ...]:
    return tuple(PydanticPayloadConverter().converters.values())


class SharedPydanticPayloadConverter(PydanticPayloadConverter):
    """`PydanticPayloadConverter` whose instances share one set of encoding converters."""

    def __init__(self) -> None:
        self._set_converters(*_shared_converters())


shared_pydantic_data_converter = DataConverter(payload_converter_class=SharedPydanticPayloadConverter)
"""`temporalio.contrib.pydantic.pydantic_data_converter`, with the shared payload converter."""
