//! tui: the interactive explorer (ratatui + crossterm), as state -> update -> view.
