"""lrulab: an executable model of list_lru, memcg-aware shrinkers and the THP deferred-split queue."""
