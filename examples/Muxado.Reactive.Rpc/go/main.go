// Command muxrpc is the Go side of examples/Muxado.Reactive.Rpc, on ngrok's
// muxado-go: it plays either half of the C# program's conversation.
//
//	muxrpc -listen 127.0.0.1:7000    accept one connection; be the muxado server
//	muxrpc -connect 127.0.0.1:7000   dial; be the muxado client, end the conversation
//
// Each question is a stream of its own, asked the way muxado's README does it:
// open, json.NewEncoder(stream).Encode, json.NewDecoder(stream).Decode,
// close, with no half-close before the answer is read. Each answer is one
// Encode. Every answer takes 100 ms, so ten questions asked at once come back
// in about 100 ms. The session role follows the direction of the connection,
// as in the C# program; the two ends must take opposite roles.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"strconv"
	"sync"
	"time"

	muxado "golang.ngrok.com/muxado/v2"
)

// Request and Response have the field names of the C# records (Query,
// Answer), so both sides' JSON is the same.
type Request struct{ Query string }
type Response struct{ Answer string }

const (
	ultimateQuestion = "What is the meaning of life, the universe and everything?"
	// The dialing side's last question; the answer waits until this side's
	// own questions are answered, so neither side closes the session on a
	// question still in flight.
	anythingElse = "That is all from me. Anything else?"
	nothingElse  = "No, that is all."
	thinkingTime = 100 * time.Millisecond
)

var timesPattern = regexp.MustCompile(`^What is (\d{1,4}) times (\d{1,4})\?$`)

// expected is every answer this side gives, and checks.
func expected(query string) string {
	switch {
	case query == ultimateQuestion:
		return "42"
	case query == anythingElse:
		return nothingElse
	}
	if m := timesPattern.FindStringSubmatch(query); m != nil {
		a, _ := strconv.Atoi(m[1])
		b, _ := strconv.Atoi(m[2])
		return strconv.Itoa(a * b)
	}
	return "I do not know."
}

func main() {
	listen := flag.String("listen", "", "accept one connection on ADDR:PORT, as the muxado server")
	connect := flag.String("connect", "", "connect to HOST:PORT, as the muxado client")
	flag.Parse()

	var conn net.Conn
	var sess muxado.Session
	var name string
	switch {
	case *listen != "" && *connect == "":
		ln, err := net.Listen("tcp", *listen)
		if err != nil {
			fatal(err)
		}
		fmt.Printf("go server: listening on %s\n", ln.Addr())
		conn, err = ln.Accept()
		ln.Close()
		if err != nil {
			fatal(err)
		}
		sess, name = muxado.Server(conn, nil), "go server"
	case *connect != "" && *listen == "":
		var err error
		if conn, err = net.Dial("tcp", *connect); err != nil {
			fatal(err)
		}
		fmt.Printf("go client: connected to %s\n", conn.RemoteAddr())
		sess, name = muxado.Client(conn, nil), "go client"
	default:
		fmt.Fprintln(os.Stderr, "usage: muxrpc -listen ADDR:PORT | -connect HOST:PORT")
		os.Exit(2)
	}

	p := &peer{sess: sess, name: name, doneAsking: make(chan struct{})}
	if !p.converse(*connect != "") {
		fmt.Println("FAILED")
		os.Exit(1)
	}
	fmt.Println("every answer right, the session ended cleanly")
}

type peer struct {
	sess       muxado.Session
	name       string
	doneAsking chan struct{}
}

// converse answers while it asks, then ends: the dialing side asks the last
// question and closes; the other waits for the session to end.
func (p *peer) converse(endsConversation bool) bool {
	answered := make(chan int, 1)
	go p.answerEvery(answered)

	ultimate := []Request{{ultimateQuestion}}
	allRight := p.check(ultimate)
	allRight = p.check(ultimate) && allRight
	var ten []Request
	for i := 1; i <= 10; i++ {
		ten = append(ten, Request{fmt.Sprintf("What is %d times 7?", i)})
	}
	allRight = p.check(ten) && allRight
	close(p.doneAsking)

	if endsConversation {
		allRight = p.check([]Request{{anythingElse}}) && allRight
		p.say("closing the session")
		p.sess.Close()
	}
	localErr, remoteErr, _ := p.sess.Wait()
	p.say("answered %d questions; session ended: local %s, remote %s", <-answered, describe(localErr), describe(remoteErr))
	return allRight && cleanEnd(localErr, remoteErr)
}

// answerEvery serves each stream the peer opens on a goroutine of its own,
// until the session ends, and then says how many questions it answered.
func (p *peer) answerEvery(answered chan<- int) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for {
		str, err := p.sess.AcceptStream()
		if err != nil {
			break // the session ended
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := p.answer(str)
			mu.Lock()
			total += n
			mu.Unlock()
		}()
	}
	wg.Wait()
	answered <- total
}

// answer answers the questions on one stream until the asker's FIN (the C#
// asker half-closes after its question, Go's README asker closes after it has
// read the answer), then closes.
func (p *peer) answer(str muxado.Stream) int {
	defer str.Close()
	dec, enc := json.NewDecoder(str), json.NewEncoder(str)
	n := 0
	for {
		var req Request
		if err := dec.Decode(&req); err != nil {
			if err != io.EOF {
				p.say("stream %d failed: %v", str.Id(), err)
			}
			return n
		}
		if req.Query == anythingElse {
			<-p.doneAsking
		} else {
			time.Sleep(thinkingTime)
		}
		if err := enc.Encode(Response{expected(req.Query)}); err != nil {
			p.say("stream %d failed: %v", str.Id(), err)
			return n
		}
		n++
	}
}

// ask is one call: a stream, the question, the answer, close.
func (p *peer) ask(req Request) (Response, error) {
	var resp Response
	str, err := p.sess.Open()
	if err != nil {
		return resp, err
	}
	defer str.Close()
	if err := json.NewEncoder(str).Encode(req); err != nil {
		return resp, err
	}
	err = json.NewDecoder(str).Decode(&resp)
	return resp, err
}

// check asks every question at once, each on its own stream, and checks the
// answers.
func (p *peer) check(questions []Request) bool {
	start := time.Now()
	answers := make([]Response, len(questions))
	errs := make([]error, len(questions))
	var wg sync.WaitGroup
	for i := range questions {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			answers[i], errs[i] = p.ask(questions[i])
		}(i)
	}
	wg.Wait()
	elapsed := time.Since(start).Milliseconds()

	right := 0
	for i, q := range questions {
		switch {
		case errs[i] != nil:
			p.say("asked %q: failed: %s", q.Query, describe(errs[i]))
		case answers[i].Answer == expected(q.Query):
			right++
		default:
			p.say("asked %q: WRONG answer %q", q.Query, answers[i].Answer)
		}
	}
	if len(questions) == 1 {
		p.say("asked %q: %q in %d ms", questions[0].Query, answers[0].Answer, elapsed)
	} else {
		p.say("asked %d questions at once: %d of %d right in %d ms", len(questions), right, len(questions), elapsed)
	}
	return right == len(questions)
}

// cleanEnd: we closed the session, or the peer sent GOAWAY NoError and hung up.
func cleanEnd(localErr, remoteErr error) bool {
	local, _ := muxado.GetError(localErr)
	remote, _ := muxado.GetError(remoteErr)
	return local == muxado.NoError || local == muxado.SessionClosed ||
		(local == muxado.PeerEOF && remoteErr != nil && remote == muxado.NoError)
}

// describe gives an error with its muxado error code.
func describe(err error) string {
	if err == nil {
		return "none"
	}
	code, _ := muxado.GetError(err)
	return fmt.Sprintf("%q (muxado code %d)", err.Error(), code)
}

func (p *peer) say(format string, args ...interface{}) {
	fmt.Printf(p.name+": "+format+"\n", args...)
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
