module switchyard.local/bench/go-router

go 1.26
