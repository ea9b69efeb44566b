//! order-placement handler.
