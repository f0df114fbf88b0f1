package logs

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/ferrymq/ferry/internal/logstore"
	"github.com/ferrymq/ferry/internal/subject"
)

// Appended is the outcome of an append in one log.
type Appended struct {
	Log string
	Seq uint64
	Dup bool // an earlier record had the same message ID; Seq is its
}

// Matches reports whether any log captures subject. On a recently seen
// subject it takes one read lock and does not allocate.
func (m *Manager) Matches(subj string) bool { return len(m.idx.Match(subj)) > 0 }

// Append stores the message in every log whose subjects match subj and
// returns, per log, the sequence it got. Each append returns once the
// record is as durable as that log's sync policy promises; several logs
// are written in parallel. A subject no log captures returns nothing. On
// errors the logs that succeeded are still reported, next to the joined
// errors. msgID, when set, deduplicates within each log's DedupeWindow.
func (m *Manager) Append(ctx context.Context, subj string, headers, payload []byte, msgID string) ([]Appended, error) {
	if err := subject.ValidatePublish(subj); err != nil {
		return nil, fmt.Errorf("logs: append: %w: %w", ErrInvalid, err)
	}
	entries := m.idx.Match(subj)
	if len(entries) == 0 {
		return nil, nil
	}
	rec := logstore.Record{Subject: subj, Headers: headers, Payload: payload, MsgID: msgID}
	if len(entries) == 1 {
		e := entries[0]
		seq, dup, err := e.append(ctx, rec)
		if err != nil {
			return nil, fmt.Errorf("logs: append to %q: %w", e.cfg.Name, err)
		}
		return []Appended{{Log: e.cfg.Name, Seq: seq, Dup: dup}}, nil
	}
	res := make([]Appended, len(entries))
	errs := make([]error, len(entries))
	var wg sync.WaitGroup
	for i, e := range entries {
		wg.Go(func() {
			seq, dup, err := e.append(ctx, rec)
			if err != nil {
				errs[i] = fmt.Errorf("logs: append to %q: %w", e.cfg.Name, err)
				return
			}
			res[i] = Appended{Log: e.cfg.Name, Seq: seq, Dup: dup}
		})
	}
	wg.Wait()
	out := res[:0]
	for i := range res {
		if errs[i] == nil {
			out = append(out, res[i])
		}
	}
	return out, errors.Join(errs...)
}
