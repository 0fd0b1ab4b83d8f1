"""Analysis, on the top floor: classified faces in live frames, video files and batches of them, and drawing them.
Owns live (frame by frame), video (sampled files and cameras), annotate (boxes and labels on frames), recording and
video_file (one file's outputs), and batch (many files, in process or on Ray).
"""
