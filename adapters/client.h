/*
 * client - the endpoint side of the nlswitch protocol (docs/protocol.md)
 * on libevent + OpenSSL, shared by nlagency, nlstate, nlbench and the
 * integration tests.
 *
 * A client connects over mutual TLS, receives HELLO, sends messages (each
 * tagged; the switch answers ACK with the message ID once it is durable, or
 * NAK with an ER), receives deliveries (DLV, which the owner must
 * acknowledge with client_dack() once it has dealt with them), and keeps
 * heartbeats going both ways.
 */
#ifndef NLSWITCH_CLIENT_H
#define NLSWITCH_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

struct event_base;
struct client;

struct client_cb {
	/* The switch greeted us: "line=X window=N heartbeat=S max-frame=B". */
	void	(*hello)(struct client *, const char *text, void *arg);
	void	(*ack)(struct client *, uint64_t tag, const char *msgid,
		    void *arg);
	/* er: the ER document (NUL-terminated). */
	void	(*nak)(struct client *, uint64_t tag, const char *er, size_t len,
		    void *arg);
	/* xml is NUL-terminated and valid during the call only. */
	void	(*deliver)(struct client *, uint64_t msgid, uint16_t copy,
		    const char *xml, size_t len, void *arg);
	/*
	 * The connection is gone (or never came up); why is a short text.
	 * When the switch sent ERROR before it closed, why is "switch
	 * closed the connection: " and the ERROR's reason (e.g. "unknown
	 * frame type 42"); a close without one says what happened in
	 * words: "cannot connect to 127.0.0.1:PORT: Connection refused",
	 * "the switch closed the connection", "certificate rejected by the
	 * switch (alert: unknown CA)", "the switch's certificate is not
	 * trusted: ..." (client_tls_why).
	 */
	void	(*closed)(struct client *, const char *why, void *arg);
};

/**
 * Create a client; nothing happens until client_connect().
 * @param ssl context from tls_client_ctx (not owned).
 */
struct client	*client_new(struct event_base *, SSL_CTX *ssl, const char *host,
		    const char *port, const struct client_cb *, void *arg);
/**
 * Connect to host:port from the next client_connect() on (a simulator
 * moving to another switch node of its list).
 */
void		 client_set_addr(struct client *, const char *host,
		    const char *port);
/** Start connecting (TLS handshake included). @return 0, -1 at once. */
int		 client_connect(struct client *);
/** Close the connection (no reconnect); callbacks stop. */
void		 client_close(struct client *);
void		 client_free(struct client *);
/** 1 once HELLO arrived and until the connection closes. */
int		 client_is_up(const struct client *);
/** Send one message. @return its tag (1, 2, ...), 0 if not connected. */
uint64_t	 client_send(struct client *, const char *xml, size_t len);
/**
 * Send one message in two parts: head is copied, tail is sent by
 * reference and must stay unchanged until client_outlen() drops to 0 (a
 * load generator's constant template). @return as client_send.
 */
uint64_t	 client_send_ref(struct client *, const char *head,
		    size_t headlen, const char *tail, size_t taillen);
/**
 * Deliveries longer than n bytes reach the deliver callback cut to their
 * first n bytes (len n), the rest dropped unread: for a load generator
 * that only needs the header. 0 (the default) passes them whole.
 */
void		 client_set_peek(struct client *, size_t n);
/** Send arbitrary bytes (tests: garbage, truncated frames). */
void		 client_send_raw(struct client *, const void *, size_t);
/** Acknowledge a delivery. */
void		 client_dack(struct client *, uint64_t msgid, uint16_t copy);
/** Bytes not yet written to the socket. */
size_t		 client_outlen(const struct client *);

/**
 * Why a TLS connection to the switch failed, in words, from an OpenSSL
 * error code (ERR_get_error) and the connection's SSL (may be NULL):
 * "certificate rejected by the switch (alert: unknown CA)" for an alert
 * about our certificate, "the switch ended the TLS handshake (alert: X)"
 * for another, "the switch's certificate is not trusted: REASON",
 * "the peer does not speak TLS (...)", else "TLS error: REASON".
 */
void		 client_tls_why(unsigned long e, SSL *ssl, char *why,
		    size_t sz);
/**
 * Read the first port of an nlswitchd port file, waiting up to wait_ms for
 * it to appear. @return 0 and port filled, -1.
 */
int		 client_read_portfile(const char *path, int wait_ms, char *port,
		    size_t sz);


#define CLIENT_ADDRS_MAX	16

/*
 * The switch addresses a simulator may use, in the order given (-P
 * PORTFILE and -p PORT, repeatable): it connects to the first and, when
 * the connection is lost or cannot be made, to the next, round robin.
 */
struct client_addrs {
	int		 n;
	int		 cur;
	const char	*file[CLIENT_ADDRS_MAX];	/* port file, or NULL */
	char		 port[CLIENT_ADDRS_MAX][16];
};

/** Add a port file (file) or a port. @return 0, -1 when the list is full. */
int		 client_addrs_add(struct client_addrs *, const char *file,
		    const char *port);
/**
 * Read every port file (each waited for up to wait_ms). @return 0, -1
 * and *cause ("PORTFILE: no port") when one has none.
 */
int		 client_addrs_read(struct client_addrs *, int wait_ms,
		    char **cause);
/** The current address's port. */
const char	*client_addrs_port(const struct client_addrs *);
/**
 * Move to the next address (its port file read again, at once: a switch
 * restarted meanwhile may listen on another port). @return its port.
 */
const char	*client_addrs_next(struct client_addrs *);

#endif
