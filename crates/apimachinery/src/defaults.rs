//! defaults (being written)
