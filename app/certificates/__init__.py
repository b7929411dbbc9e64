"""Completion certificates: the authority that issues them, the PDF, sharing.

`app.certificates.pdf` (fpdf2, its fonts and their libraries: some 40 MB) is imported only
where a PDF is made, so that a worker serving pages never loads it.
"""
