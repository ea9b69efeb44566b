//! fulfillment handler.
