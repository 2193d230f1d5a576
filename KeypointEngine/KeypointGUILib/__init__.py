"""What every module's panel shares, in Slicer only (it imports Qt): running a module's Task from the panel without
freezing it, and making sure the engine's packages are there. The only package besides the `<Module>.py` files that
may import Qt; nothing below the GUI imports it."""
