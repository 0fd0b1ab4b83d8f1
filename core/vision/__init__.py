"""Images in: decode an image file, and (soon) detect, align and crop faces."""
