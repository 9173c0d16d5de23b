/**
 * The envelope members every Parley frame carries: `v`, `type`, and `id` or `re`.
 * Spec: spec/protocol.md "Framing".
 */
import type { ProtocolVersion, RequestId } from '../common.ts';

/** Members of every frame: the protocol version and the frame type. */
export interface FrameBase {
  /** Protocol version; always 1 in this version. */
  v: ProtocolVersion;
}

/** Members of every client request: the request id the provider echoes as `re`. */
export interface RequestBase extends FrameBase {
  /** The request id, echoed as `re` in the reply. */
  id: RequestId;
}

/** Members of every provider reply: `re`, the id of the request it answers. */
export interface ReplyBase extends FrameBase {
  /** The id of the request this frame answers. */
  re: RequestId;
}

/** Members of every provider push: the provider's own frame id. */
export interface PushBase extends FrameBase {
  /** The provider-assigned id of this push. */
  id: RequestId;
}
