"""The Store port on LEAN's ObjectStore: `<workspace>/storage` locally, the project's store in the cloud (it
survives restarts of a live algorithm)."""

from __future__ import annotations

from AlgorithmImports import ObjectStore


class ObjectStoreStore:
    def __init__(self, object_store: ObjectStore) -> None:
        self.object_store = object_store

    def save(self, key: str, text: str) -> None:
        if not self.object_store.save(key, text):
            raise OSError(f"ObjectStore refused to save '{key}' (quota or permissions)")

    def load(self, key: str) -> str | None:
        if not self.object_store.contains_key(key):
            return None
        return str(self.object_store.read(key))
