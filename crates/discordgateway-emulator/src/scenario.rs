//! Scripted scenarios: dispatches and faults at given times, read from a file. (work in progress)
