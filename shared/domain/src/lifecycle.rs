//! Order life cycle: placement, fulfill, cancel, expiry (CONTRACT.md §5.2-§5.4, §8).
