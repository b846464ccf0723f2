"""Supplier replies worded by a model; the decision stays the rule-based supplier's.

The rules (`tycoon.envs.vending.supplier_replies`) decide what a supplier does: quote,
counter, accept, invoice, clarify, at which prices. `SupplierReplyWriter` only has a
model write the email that carries the decision, in the supplier's voice, and checks that
the text keeps every fact of the rule-based reply (each price and total, invoice number,
payment account and sku) and adds no other dollar amount. Anything else (an error, a
timeout, retries running out, an empty or unfaithful text) falls back to the rule-based
text. Either way the outcome is recorded.

Determinism: temperature 0 and a seed derived from the request, and every outcome is
stored in `llm_supplier_replies` keyed by a hash of the full request (model, parameters,
messages), in the same transaction as the step that asked. A replay or a fork that
reaches the same email with the same history reuses the stored text (or the recorded
fallback) instead of asking again; only a request never seen before reaches the model.

The overnight simulation is synchronous, so the call blocks the env step: the writer
runs the shared async `ChatClient` (same retries and backoff as the agent) on an event
loop of its own in a background thread, and runners step such envs in a worker thread
(`run_episode_async(..., step_in_thread=True)`) so other episodes keep going.

The env takes it as a constructor argument (`VendingEnv(..., reply_writer=writer)`, or the
`LlmSupplierReplies` wrapper) and the world calls it (`world.reply_writer`). Its cache
table is `SupplierReplyCache` of the one schema (`tycoon.envs.world.schema`).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import threading
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import gymnasium as gym
from sqlalchemy import Connection, select
from sqlalchemy import insert as generic_insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.schema import CreateTable

from tycoon.agents.llm.client import ChatClient
from tycoon.agents.llm.settings import LlmSettings
from tycoon.envs.world.schema import SupplierReplyCache

reply_cache = SupplierReplyCache.__table__

MAX_REPLY_CHARS = 6000
MAX_EMAIL_CHARS = 4000  # of the customer's email shown to the model
FORMAT_HEADING = "Please write your request in this format:"
_MONEY = re.compile(r"-?\$[0-9][0-9,]*\.[0-9]{2}")
_INVOICE = re.compile(r"\bINV-[0-9]+\b")
# The facts a reply can carry, in any form; a reworded reply may carry only those of the
# rule-based draft. A number in any notation (1,000 / 1 000 / 0.01 / 000042), a currency
# in any form ($, €, USD, dollars, cents, ...), an email address, a URL or domain, an
# account id or any code with a digit (acct-evil-999, IBAN DE89...).
_NUMBER = re.compile(r"\d{1,3}(?:[,\u00a0\u202f' ]\d{3})+(?:\.\d+)?|\d+(?:[.,]\d+)?")
_CURRENCY = re.compile(
    r"[$€£¥₹₽¢]|\b(?:usd|eur|gbp|jpy|cad|aud|chf|btc|eth|dollars?|cents?|bucks?|penn(?:y|ies)"
    r"|euros?|pounds?|quid|yen|bitcoin)\b",
    re.IGNORECASE,
)
_EMAIL_ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL = re.compile(
    r"(?:https?://|www\.)[^\s<>\"')]+|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}\b(?!\.\w)",
    re.IGNORECASE,
)
_CODE = re.compile(r"\b[a-z0-9]+(?:[-_/][a-z0-9]+)*\b", re.IGNORECASE)
_ACCOUNT_WORDS = re.compile(r"\b(?:acct|iban|swift|bic|routing|wallet)\b", re.IGNORECASE)
_ACCOUNT_ID = re.compile(r"\bacct[-_][\w-]+", re.IGNORECASE)

SYSTEM = """\
You write the emails of {name}, a wholesale supplier. {blurb}
A customer wrote to the sales desk and the desk has decided how to answer. Write the \
reply email in the supplier's own voice: friendly, brief and businesslike.
Rules:
- Keep every fact of the draft exactly as written: each product code, price, quantity, \
total, invoice number, payment account and delivery time.
- Add no other prices, discounts, products, dates or promises, and do not change the \
decision.
- Plain text only: no subject line, no markdown. Sign as the {name} sales team."""

USER = """\
The customer's email:
Subject: {subject}

{body}

---
The desk's decision: {kind}
Draft reply (reword it; keep every fact):

{draft}"""


def ensure_table(engine: Any) -> None:
    """Create the cache table in a database written before it was part of the schema."""
    with engine.begin() as conn:
        conn.execute(CreateTable(reply_cache, if_not_exists=True))


class _LoopThread:
    """An event loop in a daemon thread, for calling async code from synchronous code."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="supplier-writer", daemon=True
        )
        self.thread.start()

    def run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)


class SupplierReplyWriter:
    """Called by the env for each supplier reply: `writer(world, profile, email, decision)`.

    Returns the decision with `reply_body` written by the model, or unchanged (fallback).
    One writer per process; it is thread-safe (every call runs on the writer's own loop).
    """

    def __init__(self, settings: LlmSettings) -> None:
        if settings.temperature is None:
            settings = settings.model_copy(update={"temperature": 0.0})
        self.settings = settings
        self._loop = _LoopThread()
        self._client: ChatClient = self._loop.run(_make_client(settings))
        self.asked = 0  # requests sent to the model by this process
        self.reused = 0  # replies taken from the cache

    def close(self) -> None:
        self._loop.run(self._client.close())
        self._loop.stop()

    def __call__(self, world: Any, profile: Any, email: Any, decision: Any) -> Any:
        prose, fixed_tail = split_format_block(decision.reply_body)
        messages = reply_messages(profile, email, decision.kind, prose)
        request = {"params": self._client.params, "messages": messages}
        key = hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()
        conn: Connection = world.connect()  # the step's own transaction
        cached = conn.execute(
            select(reply_cache.c.status, reply_cache.c.reply).where(reply_cache.c.key == key)
        ).first()
        if cached is not None:
            self.reused += 1
            status, text = cached.status, cached.reply
        else:
            status, text = self._ask(messages, key, prose, profile)
            _insert_ignoring_duplicates(
                conn,
                {
                    "key": key,
                    "model": self.settings.model,
                    "status": status[:300],
                    "reply": text,
                    "request": request,
                    "episode_id": world.episode.id,
                    "day": world.day,
                    "created_at": datetime.now(UTC).replace(tzinfo=None),
                },
            )
        if status != "ok" or not text:
            return decision
        body = text.strip() + (f"\n\n{fixed_tail}" if fixed_tail else "")
        return decision.model_copy(update={"reply_body": body})

    def _ask(
        self, messages: list[dict[str, Any]], key: str, prose: str, profile: Any
    ) -> tuple[str, str | None]:
        self.asked += 1
        try:
            result = self._loop.run(
                self._client.complete(messages, [], seed=int(key[:8], 16) % 2**31)
            )
        except Exception as exc:  # any failure: the rule-based text goes out
            return f"error: {type(exc).__name__}: {exc}", None
        text = result.message.get("content") or ""
        if not isinstance(text, str):
            return "error: the reply has no text content", None
        problem = unfaithful(text, prose, profile)
        return ("ok", text) if problem is None else (f"invalid: {problem}", text)


async def _make_client(settings: LlmSettings) -> ChatClient:
    return ChatClient(settings)


def split_format_block(body: str) -> tuple[str, str]:
    """The reply's prose, and the request-format block the rules append (kept verbatim)."""
    at = body.find(FORMAT_HEADING)
    if at == -1:
        return body, ""
    return body[:at].rstrip(), body[at:]


def reply_messages(profile: Any, email: Any, kind: Any, draft: str) -> list[dict[str, Any]]:
    system = SYSTEM.format(name=profile.name, blurb=profile.blurb)
    user = USER.format(
        subject=email.subject,
        body=(email.body or "")[:MAX_EMAIL_CHARS],
        kind=str(getattr(kind, "value", kind)),
        draft=draft,
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def facts_of(draft: str, profile: Any) -> set[str]:
    """What a reworded reply must still say: amounts, invoice numbers, account, skus."""
    facts = set(_MONEY.findall(draft)) | set(_INVOICE.findall(draft))
    if profile.payment_account and profile.payment_account in draft:
        facts.add(profile.payment_account)
    facts.update(sku for sku in profile.skus if re.search(rf"(?<![\w-]){re.escape(sku)}\b", draft))
    return facts


def unfaithful(text: str, draft: str, profile: Any) -> str | None:
    """Why `text` cannot replace `draft` (None: it can): it drops a fact of the draft, or
    states one the draft does not (an amount in any form, an account, an address)."""
    if not text.strip():
        return "empty reply"
    if len(text) > MAX_REPLY_CHARS:
        return f"longer than {MAX_REPLY_CHARS} characters"
    missing = sorted(fact for fact in facts_of(draft, profile) if fact not in text)
    if missing:
        return "missing " + ", ".join(missing[:5])
    invented = sorted(set(_MONEY.findall(text)) - set(_MONEY.findall(draft)))
    if invented:
        return "amounts not in the decision: " + ", ".join(invented[:5])
    for what, found in (
        ("numbers", _numbers),
        ("currencies", _currencies),
        ("email addresses", _emails),
        ("addresses", _urls),
        ("codes or accounts", _codes),
    ):
        new = sorted(found(text) - found(draft))
        if new:
            return f"{what} not in the decision: " + ", ".join(new[:5])
    return None


def _numbers(text: str) -> set[str]:
    """Every number, normalised: "1,000", "1 000" and "1000.00" are one number."""
    numbers = set()
    for match in _NUMBER.findall(text):
        digits = re.sub(r"[\u00a0\u202f' ]", "", match)
        if re.fullmatch(r"\d+,\d{1,2}", digits):  # a decimal comma: 0,01
            digits = digits.replace(",", ".")
        digits = digits.replace(",", "")
        try:
            numbers.add(format(Decimal(digits).normalize(), "f"))
        except InvalidOperation:
            numbers.add(digits)
    return numbers


def _currencies(text: str) -> set[str]:
    return {word.lower().rstrip("s") for word in _CURRENCY.findall(text)}


def _emails(text: str) -> set[str]:
    return {address.lower() for address in _EMAIL_ADDRESS.findall(text)}


def _urls(text: str) -> set[str]:
    without_emails = _EMAIL_ADDRESS.sub(" ", text)
    return {url.lower().rstrip(".,;:") for url in _URL.findall(without_emails)}


def _codes(text: str) -> set[str]:
    """Codes that mix letters and digits (acct-evil-999, DE89370400440532013000), and
    any word that names an account (acct, IBAN, wallet, ...)."""
    codes = {
        code.lower()
        for code in _CODE.findall(text)
        if re.search(r"\d", code) and re.search(r"[a-z]", code, re.IGNORECASE)
    }
    codes.update(word.lower() for word in _ACCOUNT_WORDS.findall(text))
    codes.update(account.lower() for account in _ACCOUNT_ID.findall(text))
    return codes


def _insert_ignoring_duplicates(conn: Connection, row: dict[str, Any]) -> None:
    # two episodes (processes) may ask the same thing at once: the first row stays
    name = conn.dialect.name
    if name == "sqlite":
        statement = sqlite.insert(reply_cache).on_conflict_do_nothing()
    elif name == "postgresql":
        statement = postgresql.insert(reply_cache).on_conflict_do_nothing()
    else:
        statement = generic_insert(reply_cache)
    conn.execute(statement, row)


class LlmSupplierReplies(gym.Wrapper):
    """Suppliers of the wrapped vending env write their replies with `writer`.

    The same as `VendingEnv(..., reply_writer=writer)`: every simulation the env makes
    from then on (each reset) gets the writer.
    """

    def __init__(self, env: gym.Env, writer: SupplierReplyWriter) -> None:
        super().__init__(env)
        self.writer = writer
        ensure_table(env.unwrapped.store.engine)
        env.unwrapped.reply_writer = writer
