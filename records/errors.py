"""Exceptions of the records package.

    RecordsError                 base; every error has a stable ``code``
    +-- RecordsUnavailable       the database did not answer in time, or refused (down, locked)
    +-- RequestError             a request cannot do what was asked
        +-- IllegalTransition    e.g. resolving a request that is already closed
    +-- RulesError               the request rules file is broken (names file, line, column)
    +-- DataGenerationError      demo or scale data cannot be generated (records.datagen)
    +-- CsvImportError           a CSV import was refused: every bad row as (file, line, field,
                                 why); nothing was written (records.importer)

Lookups in a live call never raise these: they return typed results (records.results).
"""

from __future__ import annotations


class RecordsError(Exception):
    code = "records.error"


class RecordsUnavailable(RecordsError):
    code = "records.unavailable"


class RequestError(RecordsError):
    code = "records.request"


class IllegalTransition(RequestError):
    code = "records.request.illegal_transition"


class RulesError(RecordsError):
    code = "records.rules_invalid"
