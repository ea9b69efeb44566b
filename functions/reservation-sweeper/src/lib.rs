//! reservation-sweeper handler.
