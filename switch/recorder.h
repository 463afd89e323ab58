/*
 * recorder - the traffic capture of nlswitchd (docs/capture.md).
 *
 * With <record path="..."/> in the config, the switch writes every
 * message it takes in (MSG, with the answer it gave: ACK + message ID, or
 * NAK + ER) and every delivery it makes (DLV), plus each line coming up
 * and going down, into a capture file: a versioned binary format with a
 * file header and length-prefixed, CRC-32-checked records, rotated by
 * size (path.1, path.2, ... oldest first; path is the newest). Photos
 * (BinaryBase64Object text) are replaced by their length and SHA-256
 * unless images="yes".
 *
 * The writer is a module singleton driven from the loop thread: records
 * go into a memory buffer that is written out when it holds 64 KiB and
 * once a second. No fsync: a capture is a test artefact, not a promise
 * (the last second may be lost in a crash; the reader stops cleanly at a
 * torn record).
 *
 * The reader half (recorder_reader_*) is what bin/nlreplay uses.
 */
#ifndef NLSWITCH_RECORDER_H
#define NLSWITCH_RECORDER_H

#include <stddef.h>
#include <stdint.h>

struct config;
struct event_base;
struct ubuf;

#define RECORDER_MAGIC		"NLCAPTUR"
#define RECORDER_VERSION	1
#define RECORDER_FILE_HDR	32	/* file header bytes */
#define RECORDER_REC_PREFIX	8	/* u32 length + u32 CRC-32 */
#define RECORDER_REC_FIXED	36	/* fixed record fields after the prefix */
#define RECORDER_REC_MAX	(256u << 20)	/* a reader refuses more */

/* File header flags. */
#define RECORDER_F_IMAGES	0x01	/* photo bytes are in the capture */

/* Record types. */
enum recorder_type {
	RECORDER_UP = 1,	/* a line's session came up (TLS + HELLO) */
	RECORDER_DOWN,		/* that session went away */
	RECORDER_MSG,		/* inbound MSG frame, id = sender's tag */
	RECORDER_ACK,		/* the switch's ACK, id = tag, data = message ID */
	RECORDER_NAK,		/* the switch's NAK, id = tag, data = the ER */
	RECORDER_DLV		/* a delivery, id = message ID, copy = copy */
};

/* Record flags. */
#define RECORDER_R_REDACTED	0x01	/* photo text replaced (see above) */

/* One record as read back. data is NUL-terminated, owned by the reader
 * and valid until the next recorder_read. */
struct recorder_rec {
	enum recorder_type	 type;
	uint8_t			 flags;
	uint16_t		 copy;
	uint64_t		 time_us;	/* wall clock, us since the epoch */
	uint64_t		 sess;		/* switch session number */
	uint64_t		 id;		/* tag or message ID */
	char			 line[16];	/* line code */
	char			 cn[65];	/* certificate CN of the line */
	const char		*data;
	size_t			 len;
	uint64_t		 offset;	/* of the record in its file */
};

/**
 * Apply the <record> settings of cfg: start, keep, reopen (new path or
 * settings) or stop recording. Called at start-up and after a reload, in
 * the loop thread. A file that exists at start is rotated out first, so
 * every run begins a new file.
 * @return 0, or -1 with *cause set (caller frees); recording is then off.
 */
int	 recorder_configure(struct event_base *, const struct config *cfg,
	    char **cause);
/** Write out what is buffered and close the capture. */
void	 recorder_shutdown(void);

/* Who a record is about: the switch's session number (0: none), the
 * line's code and its certificate's CN. */
struct recorder_who {
	uint64_t	 sess;
	const char	*line;
	const char	*cn;
};

/*
 * Hooks (each a no-op when recording is off).
 */
void	 recorder_msg(const struct recorder_who *, uint64_t tag,
	    const char *xml, size_t len);
void	 recorder_ack(const struct recorder_who *, uint64_t tag,
	    const char *msgid);
void	 recorder_nak(const struct recorder_who *, uint64_t tag,
	    const char *er, size_t len);
/**
 * A delivery as line_deliver sends it, in two parts: the stamped head and
 * the stored body's tail (tail may be NULL, taillen 0: head is all).
 */
void	 recorder_dlv(const struct recorder_who *, uint64_t msgid,
	    uint16_t copy, const char *head, size_t headlen, const char *tail,
	    size_t taillen);
/** A line's session came up or went away (peer: its address). */
void	 recorder_line(const struct recorder_who *, const char *peer, int up);

/*
 * Photo privacy, shared with nlreplay.
 */
/**
 * Copy xml into out with the text of every BinaryBase64Object replaced by
 * "redacted len=N sha256=HEX" (N decoded bytes, the hash over them). A
 * replay placeholder (below) is reported as the hash it stands for.
 * @return photos replaced.
 */
int	 recorder_redact(struct ubuf *out, const char *xml, size_t len);
/**
 * The reverse for replaying a redacted capture: every redacted photo
 * becomes a valid base64 placeholder of the recorded length that carries
 * the recorded hash ("NLREPLAY" + SHA-256 + zeros), so a switch that
 * passes it through unchanged yields the recorded redacted text again.
 * @return photos replaced.
 */
int	 recorder_placeholder(struct ubuf *out, const char *xml, size_t len);

/*
 * Reading a capture.
 */
struct recorder_reader;

/**
 * Open a capture file and check its header.
 * @return reader, or NULL with *cause set (caller frees).
 */
struct recorder_reader *recorder_reader_open(const char *path, char **cause);
/** The file header's fields. */
uint32_t recorder_reader_flags(const struct recorder_reader *);
uint64_t recorder_reader_created(const struct recorder_reader *);
/**
 * Read the next record.
 * @return 1 and *rec filled, 0 at the end of the file, -1 with *cause
 *	(caller frees) on a bad record: checksum, length, or a torn tail.
 */
int	 recorder_read(struct recorder_reader *, struct recorder_rec *rec,
	    char **cause);
void	 recorder_reader_close(struct recorder_reader *);
/** Name of a record type ("MSG"). */
const char *recorder_type_name(enum recorder_type);

#endif
