//! selector (being written)
