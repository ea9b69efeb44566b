//! VTEX wire shapes (DTOs, serde) and the outbound client. DTOs mirror the protocol exactly
//! (camelCase, `null` rather than omitted); conversion to domain types happens at the edges.

pub mod accounts;
pub mod catalog;
pub mod client;
pub mod fulfillment;
pub mod oms;
pub mod orders;
pub mod ports;
pub mod reconcile;
pub mod simulation;
