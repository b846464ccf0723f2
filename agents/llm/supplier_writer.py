"""Moved to `tycoon.envs.vending.supplier_writer` (supplier replies are env behaviour);
this name stays for code written against it."""

from tycoon.envs.vending.supplier_writer import (  # noqa: F401
    LlmSupplierReplies,
    SupplierReplyWriter,
    ensure_table,
    reply_cache,
)
