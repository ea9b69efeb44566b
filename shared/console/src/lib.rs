//! The operator console.
