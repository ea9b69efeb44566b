//! Simulation handler.
