"""Analysis, on the top floor: classified faces in live frames and video files, and drawing them.
Owns live (frame by frame), video (sampled files and cameras) and annotate (boxes and labels on frames).
"""
