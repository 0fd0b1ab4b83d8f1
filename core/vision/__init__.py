"""Images to faces: decode, detect, align, crop to 48x48, track people over time."""
