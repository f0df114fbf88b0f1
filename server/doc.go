// Package server is the embeddable Ferry broker: it wires the core broker to
// its front doors. New builds a server from Options, Start listens, Addr
// reports where, and Shutdown stops it gracefully.
//
//	s, err := server.New(server.Options{Listen: "127.0.0.1:0"})
//	if err != nil { ... }
//	if err := s.Start(); err != nil { ... }
//	defer s.Shutdown(context.Background())
//	fmt.Println("ferry://" + s.Addr().String())
package server
