complete --keep-order --exclusive --command rtctl --arguments "(COMPLETE=fish rtctl -- (commandline --current-process --tokenize --cut-at-cursor) (commandline --current-token))"
