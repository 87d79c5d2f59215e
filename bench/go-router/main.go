// Command go-router is the data-plane benchmark's Go baseline (B2): one
// process that runs inference graphs with the shape of KServe's
// InferenceGraph router, so Switchyard is measured against the Go router a
// user would otherwise deploy. Like that router it reads each request whole,
// runs the graph's root node (sequence, splitter, switch or ensemble), calls
// every model with net/http's client, decodes JSON only where such a router
// must (switch conditions, ensemble answers), checks that the answer is JSON,
// and writes it back. It logs nothing per request, which makes it a stricter
// baseline than a router that does.
//
//	go-router -graphs graphs.json [-listen 127.0.0.1:0] [-idle-per-host 100]
//
// graphs.json maps a graph name to its nodes; a graph answers on /<name>.
// It prints "READY <port>" once it listens.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

// Step is one target of a node: a model's URL or another node of the graph.
type Step struct {
	Name string `json:"name"`
	URL  string `json:"url"`
	Node string `json:"node"`
	// "response" sends the previous step's answer (sequences); otherwise the graph's request.
	Input  string `json:"input"`
	Weight int    `json:"weight"`
	When   *When  `json:"when"`
}

// When is a switch case: the request's JSON value at Path equals Equals.
type When struct {
	Path   []string `json:"path"`
	Equals string   `json:"equals"`
}

// Node is a routing node: "sequence", "splitter", "switch" or "ensemble".
type Node struct {
	Kind  string `json:"kind"`
	Steps []Step `json:"steps"`
	// How an ensemble joins its answers: "merge" (an object keyed by step name) or "mean".
	Combine string `json:"combine"`
}

// Graph is a set of nodes, entered at Root.
type Graph struct {
	Root  string          `json:"root"`
	Nodes map[string]Node `json:"nodes"`
}

// answer is what a step or node produced: a body and the HTTP status that came with it.
type answer struct {
	body   []byte
	status int
}

type router struct {
	client *http.Client
	graphs map[string]Graph
}

func (r *router) call(url string, body []byte) (answer, error) {
	request, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return answer{}, err
	}
	request.Header.Set("Content-Type", "application/json")
	response, err := r.client.Do(request)
	if err != nil {
		return answer{}, err
	}
	defer response.Body.Close()
	read, err := io.ReadAll(response.Body)
	if err != nil {
		return answer{}, err
	}
	return answer{read, response.StatusCode}, nil
}

func (r *router) step(graph Graph, step Step, body []byte) (answer, error) {
	if step.Node != "" {
		return r.node(graph, step.Node, body)
	}
	return r.call(step.URL, body)
}

func ok(status int) bool { return status >= 200 && status < 300 }

func (r *router) node(graph Graph, name string, request []byte) (answer, error) {
	node, found := graph.Nodes[name]
	if !found {
		return answer{}, fmt.Errorf("no node %q", name)
	}
	switch node.Kind {
	case "sequence":
		last := answer{request, http.StatusOK}
		for _, step := range node.Steps {
			input := request
			if step.Input == "response" {
				input = last.body
			}
			next, err := r.step(graph, step, input)
			if err != nil {
				return answer{}, err
			}
			if !ok(next.status) {
				return next, nil
			}
			last = next
		}
		return last, nil
	case "splitter":
		point, end := rand.IntN(100), 0
		for _, step := range node.Steps {
			end += step.Weight
			if point < end {
				return r.step(graph, step, request)
			}
		}
		return answer{}, errors.New("the splitter's weights do not add up to 100")
	case "switch":
		var document any
		if err := json.Unmarshal(request, &document); err != nil {
			return answer{}, fmt.Errorf("the request is not JSON: %w", err)
		}
		for _, step := range node.Steps {
			if step.When == nil || matches(document, *step.When) {
				return r.step(graph, step, request)
			}
		}
		return answer{}, errors.New("no case of the switch matched")
	case "ensemble":
		return r.ensemble(graph, node, request)
	}
	return answer{}, fmt.Errorf("node %q has unknown kind %q", name, node.Kind)
}

func matches(document any, when When) bool {
	value := document
	for _, key := range when.Path {
		object, isObject := value.(map[string]any)
		if !isObject {
			return false
		}
		value = object[key]
	}
	text, isText := value.(string)
	return isText && text == when.Equals
}

// ensemble runs every step at once and decodes each answer, as a router
// that joins JSON answers must.
func (r *router) ensemble(graph Graph, node Node, request []byte) (answer, error) {
	decoded := make([]map[string]any, len(node.Steps))
	failures := make([]error, len(node.Steps))
	var failed []answer
	var mutex sync.Mutex
	var group sync.WaitGroup
	for i, step := range node.Steps {
		group.Go(func() {
			got, err := r.step(graph, step, request)
			if err == nil && !ok(got.status) {
				mutex.Lock()
				failed = append(failed, got)
				mutex.Unlock()
				return
			}
			if err == nil {
				err = json.Unmarshal(got.body, &decoded[i])
			}
			failures[i] = err
		})
	}
	group.Wait()
	if err := errors.Join(failures...); err != nil {
		return answer{}, err
	}
	if len(failed) > 0 {
		return failed[0], nil
	}
	var joined any
	if node.Combine == "mean" {
		joined = mean(decoded)
	} else {
		merged := make(map[string]any, len(decoded))
		for i, step := range node.Steps {
			merged[step.Name] = decoded[i]
		}
		joined = merged
	}
	body, err := json.Marshal(joined)
	return answer{body, http.StatusOK}, err
}

// mean is the element-wise mean of the first output of every V2 answer.
func mean(answers []map[string]any) map[string]any {
	var sums []float64
	for _, decoded := range answers {
		outputs, _ := decoded["outputs"].([]any)
		if len(outputs) == 0 {
			continue
		}
		first, _ := outputs[0].(map[string]any)
		data, _ := first["data"].([]any)
		if sums == nil {
			sums = make([]float64, len(data))
		}
		for i, value := range data {
			if number, isNumber := value.(float64); isNumber && i < len(sums) {
				sums[i] += number
			}
		}
	}
	for i := range sums {
		sums[i] /= float64(len(answers))
	}
	output := map[string]any{"name": "y", "shape": []int{len(sums)}, "datatype": "FP64", "data": sums}
	return map[string]any{"outputs": []any{output}}
}

func fail(w http.ResponseWriter, status int, graph string, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	body, _ := json.Marshal(map[string]any{
		"error": map[string]any{"graph": graph, "status": status, "reason": err.Error()},
	})
	w.Write(body)
}

func (r *router) ServeHTTP(w http.ResponseWriter, request *http.Request) {
	name := request.URL.Path[1:]
	graph, found := r.graphs[name]
	if !found {
		fail(w, http.StatusNotFound, name, errors.New("no such graph"))
		return
	}
	body, err := io.ReadAll(request.Body)
	if err != nil {
		fail(w, http.StatusBadRequest, name, err)
		return
	}
	got, err := r.node(graph, graph.Root, body)
	if err != nil {
		fail(w, http.StatusBadGateway, name, err)
		return
	}
	if json.Valid(got.body) {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(got.status)
	w.Write(got.body)
}

// client is net/http's default transport, or a copy of it whose pool keeps
// idlePerHost idle connections per host instead of 2: with more requests in
// flight than that, the default closes every connection it cannot keep and
// dials a new one for the next request.
func client(idlePerHost int) *http.Client {
	if idlePerHost == 0 {
		return &http.Client{Timeout: 30 * time.Second}
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConns = max(transport.MaxIdleConns, idlePerHost)
	transport.MaxIdleConnsPerHost = idlePerHost
	return &http.Client{Transport: transport, Timeout: 30 * time.Second}
}

func main() {
	graphsFile := flag.String("graphs", "", "JSON file: graph name → {root, nodes}")
	listen := flag.String("listen", "127.0.0.1:0", "address to serve the graphs on")
	idlePerHost := flag.Int("idle-per-host", 100,
		"idle connections kept per model host; 0 keeps net/http's DefaultTransport as it is (2)")
	flag.Parse()

	text, err := os.ReadFile(*graphsFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "go-router:", err)
		os.Exit(2)
	}
	var graphs map[string]Graph
	if err := json.Unmarshal(text, &graphs); err != nil {
		fmt.Fprintln(os.Stderr, "go-router: graphs file:", err)
		os.Exit(2)
	}
	listener, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "go-router:", err)
		os.Exit(1)
	}
	server := &http.Server{
		Handler:      &router{client(*idlePerHost), graphs},
		ReadTimeout:  60 * time.Second,
		WriteTimeout: 60 * time.Second,
		IdleTimeout:  90 * time.Second,
	}
	go func() {
		stop := make(chan os.Signal, 1)
		signal.Notify(stop, syscall.SIGTERM, os.Interrupt)
		<-stop
		server.Close()
	}()
	fmt.Printf("READY %d\n", listener.Addr().(*net.TCPAddr).Port)
	if err := server.Serve(listener); !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "go-router:", err)
		os.Exit(1)
	}
}
