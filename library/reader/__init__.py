"""Reading and listening in the browser (issue 13): the reader page of a loan's file (EPUBs in
epub.js, PDFs in the browser's own viewer, audio and video in a player with chapters) and the
reading position kept per loan, so a second device resumes where the first stopped."""
