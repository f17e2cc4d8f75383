"""Speech: spoken values as word prompts (:mod:`speech.values`), shared by the IVR, which reads
amounts, dates and request numbers, and the ACD, which announces position and expected wait;
and callers' speech recognised against a grammar (:mod:`speech.grammar`, :mod:`speech.models`,
:mod:`speech.recogniser`) with Vosk, keypad always working beside it."""
