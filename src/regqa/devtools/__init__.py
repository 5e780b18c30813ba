"""Developer tools: the evaluation harness and the benchmark. The runtime never imports
this subpackage; only `regqa eval` and `regqa bench` load it."""
