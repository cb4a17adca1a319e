/*
 * challenge_image.h - the image of an XEP-0158 'ocr' challenge: its random
 * answer, and the configured image_cmd run to draw it (challenge_image.c).
 * Plain C, no XMPP, no database; challenge_image_run blocks (up to its
 * timeout) and is meant for a worker thread (worker.h).
 *
 * The command's protocol, as ejabberd's captcha_cmd: it is run with the
 * answer as its only argument, stdin and stderr /dev/null, in a process
 * group of its own, and prints a PNG on stdout, exiting 0.
 */
#ifndef REGISTRAR_CHALLENGE_IMAGE_H
#define REGISTRAR_CHALLENGE_IMAGE_H

#include <stdbool.h>
#include <stddef.h>

#define CHALLENGE_IMAGE_ANSWER_LEN 6
#define CHALLENGE_IMAGE_MAX (512 * 1024) /* bytes of a PNG */

/* A random answer of CHALLENGE_IMAGE_ANSWER_LEN lower-case letters and
 * digits without look-alikes (no 0/o, 1/l/i), into out (at least
 * CHALLENGE_IMAGE_ANSWER_LEN + 1 bytes); false when the kernel gives no
 * randomness. */
bool challenge_image_answer(char *out);

/* Runs cmd (a path) with answer as its argument; true when it exited 0
 * within timeout_ms after printing a PNG (its 8-byte signature, an IHDR)
 * of at most max bytes: *png (caller frees) and *len.  Else false, the
 * reason in why (no secret: never the answer); a command still running at
 * the deadline, or printing more than max, is killed (its process group,
 * SIGKILL). */
bool challenge_image_run(const char *cmd, const char *answer,
                         unsigned timeout_ms, size_t max, unsigned char **png,
                         size_t *len, char *why, size_t whylen);

/* The width and height of a PNG's IHDR (png checked by the run). */
void challenge_image_size(const unsigned char *png, size_t len, unsigned *width,
                          unsigned *height);

#endif
