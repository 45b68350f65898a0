"""LEAN symbols ⇄ core contracts.

The core keys everything by `Contract`; LEAN by `Symbol`. A contract is built from a symbol's identifier
(root, right, strike, expiry) with the product facts of core/products, exactly as the strategies build one
from a chain row (strategies/base.option_at), so the two compare equal. The way back goes through the
registry: every symbol the shell has seen in a chain or a holding is remembered under the contract's key,
and an order for a contract the registry has never seen is refused (never a guessed symbol).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from AlgorithmImports import OptionRight, SecurityType, Symbol
from core.model import Contract, ContractKind, Right, equity_contract, future_contract, option_contract
from core.products import UnknownProductError, product

OPTION_TYPES = (SecurityType.OPTION, SecurityType.INDEX_OPTION, SecurityType.FUTURE_OPTION)

Key = tuple[str, date | None, float | None, bool | None]  # root, expiry (or the future's), strike, is call


def key_of(contract: Contract) -> Key:
    if contract.kind is ContractKind.OPTION:
        return contract.root, contract.expiry, contract.strike, contract.right is Right.CALL
    if contract.kind is ContractKind.FUTURE:
        return contract.root, contract.underlying_expiry, None, None
    return contract.root, None, None, None


def root_of(symbol: Symbol) -> str:
    """The core's root for a LEAN symbol: an option class's (SPXW, QQQ), a future's or an equity's ticker, and
    for a future option its *future's* root. LEAN's identifier of a future option carries the option root,
    which for most CME products is another name (GC options are OG, CL's LO, ZB's OZB, 6E's EUU:
    Common/Securities/FutureOption/FuturesOptionsSymbolMappings.cs), and the core knows products by the future."""
    if symbol.security_type == SecurityType.FUTURE_OPTION and symbol.underlying is not None:
        return root_of(symbol.underlying)
    return str(symbol.id.symbol).upper()


def known_root(root: str) -> bool:
    try:
        product(root)
    except UnknownProductError:
        return False
    return True


def contract_of(symbol: Symbol) -> Contract | None:
    """The core contract of a LEAN symbol, or None for a product the core does not know (never a guess)."""
    root = root_of(symbol)
    if not known_root(root):  # an unknown root is not ours
        return None
    kind = symbol.security_type
    if kind in OPTION_TYPES:
        right = Right.CALL if symbol.id.option_right == OptionRight.CALL else Right.PUT
        strike, expiry = float(symbol.id.strike_price), symbol.id.date.date()
        return option_contract(root, root_of(symbol.underlying), right, strike, expiry)
    if kind == SecurityType.FUTURE:
        return future_contract(root, symbol.id.date.date())
    if kind == SecurityType.EQUITY:
        return equity_contract(root)
    return None


class SymbolRegistry:
    """Every symbol seen, by contract key (the way from a core contract back to LEAN). Roots the core does not
    know are skipped, and said once (`skipped`)."""

    def __init__(self, log: Callable[[str], None] | None = None) -> None:
        self._by_key: dict[Key, Symbol] = {}
        self._log = log
        self._skipped: set[str] = set()

    def skipped(self, root: str, what: str) -> None:
        if root not in self._skipped:
            self._skipped.add(root)
            if self._log is not None:
                self._log(f"{what} of {root}: not a product the core knows, skipped (said once)")

    def __len__(self) -> int:
        return len(self._by_key)

    def remember(self, key: Key, symbol: Symbol) -> None:
        self._by_key[key] = symbol

    def remember_symbol(self, symbol: Symbol) -> Contract | None:
        contract = contract_of(symbol)
        if contract is not None:
            self._by_key[key_of(contract)] = symbol
        return contract

    def symbol(self, contract: Contract) -> Symbol | None:
        return self._by_key.get(key_of(contract))
