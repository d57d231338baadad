//! patch (being written)
