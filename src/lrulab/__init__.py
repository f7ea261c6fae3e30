"""lrulab: list_lru, memcg-aware shrinkers and the THP deferred-split queue, executable."""
