//! Helpers for the whole-system tests: start the real `nubis` binary and drive it with real clients.
