// Report module. See ../shared/DESIGN.md "Modules".
